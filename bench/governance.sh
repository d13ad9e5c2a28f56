#!/usr/bin/env bash
# Data governance figures (issue 19, docs/admin.md): on a Release build, a throwaway PostgreSQL
# with fsync on (bench/run.sh's settings) and switchboard on a free 127.0.0.1 port:
#   export      an organization's export of MESSAGES (1,000,000) seeded messages: seconds, messages
#               per second, archive size, the server's RSS before and during;
#   retention   those messages, all past a 30-day limit, deleted by the governance run while
#               `switchboard-load direct` sends RATE (1,000) messages/s: messages deleted per
#               second, and the sends' ack p99 with retention running against a run without;
#   encryption  the same open-loop direct load (ENC_RATE, 4,000/s) and a closed-loop one, with and
#               without storage.encryption_key: throughput, ack latency and server CPU per message.
# Results go to bench/governance-results.jsonl and a table into BENCHMARKS.md ("Data governance").
#   bench/governance.sh [export|retention|encryption ...]   (default: all three)
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_load_env
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(export retention encryption)
MESSAGES=${MESSAGES:-1000000}
RATE=${RATE:-1000}
ENC_RATE=${ENC_RATE:-4000}
export SWITCHBOARD_GOVERNANCE_INTERVAL_S=2

bench_start governance
cmake --build --preset release --target switchboard-load >/dev/null
load=build/release/switchboard-load
revision=$(git rev-parse --short HEAD)
results=bench/governance-results.jsonl
record() { python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])))' "$1" >>"$results"; }
sql() { psql "$SB_TEST_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 "$@"; }
metric() { curl -fsS "http://127.0.0.1:$port/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$server_pid/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# The load's users: their own organization.
load_org=$("$bin" org create --name "Load" --admin-name Admin --admin-mobile +8613900000001 \
  --admin-password bench-password | python3 -c 'import json,sys; print(json.load(sys.stdin)["org"])')
"$bin" org seed --org "$load_org" --count 400 --first-mobile +8613910000000 --tokens-out "$work/tokens" >/dev/null

# The governed organization: two members and MESSAGES messages in 1,000 group conversations,
# inserted in SQL (the send path is measured elsewhere), 40 days old.
created=$("$bin" org create --name "Governed" --admin-name Owner --admin-mobile +8613900000002 \
  --admin-password bench-password)
org=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["org"])' "$created")
owner=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["user"])' "$created")
"$bin" org seed --org "$org" --count 1 --first-mobile +8613920000000 --tokens-out "$work/gov-tokens" >/dev/null
member=$(awk '{print $1; exit}' "$work/gov-tokens")
convs=1000
per=$((MESSAGES / convs))
old_ts=$(( ($(date +%s) - 40 * 86400) * 1000 ))
seed_start=$(date +%s.%N)
sql <<SQL
WITH c AS (
  INSERT INTO conversations (org_id, kind, name, owner_id, member_count, last_seq)
  SELECT $org, 'group', 'bench ' || g, $owner, 2, $per FROM generate_series(1, $convs) g RETURNING id
), m AS (
  INSERT INTO conv_members (org_id, conv_id, user_id, role)
  SELECT $org, c.id, u.u, CASE WHEN u.u = $owner THEN 'owner' ELSE 'member' END
    FROM c, (VALUES ($owner::bigint), ($member::bigint)) AS u(u) RETURNING 1
)
INSERT INTO messages (org_id, conv_id, seq, sender_id, client_msg_id, type, body, ts)
SELECT $org, c.id, s, CASE WHEN s % 2 = 0 THEN $owner ELSE $member END, 'seed-' || s, 'text',
       '{"text":"seeded message ' || s || ' of a benchmark conversation, about a hundred bytes of words in all"}',
       $old_ts + s
  FROM c, generate_series(1, $per) s;
SQL
# A clean start for every part: the seeded rows vacuumed and analyzed, and flushed, so the first
# runs do not meet autovacuum or a checkpoint of the seed.
sql -c "VACUUM ANALYZE messages" -c "VACUUM ANALYZE conversations" -c "CHECKPOINT"
echo "seeded $MESSAGES messages in $(python3 -c "import time,sys; print(round(time.time()-float(sys.argv[1]),1))" "$seed_start") s"
token=$(curl -fsS -X POST "http://127.0.0.1:$port/v1/auth/login" -H 'Content-Type: application/json' \
  -d "{\"org\":\"$org\",\"mobile\":\"+8613900000002\",\"password\":\"bench-password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

run_direct() {  # $1: extra load args; prints the result line
  "$load" direct --port "$port" --tokens "$work/tokens" --pairs 100 "$@" --revision "$revision" --results "$work/one.jsonl" \
    --server-pid "$server_pid" >/dev/null
  tail -1 "$work/one.jsonl"
}

for part in "${parts[@]}"; do
  case $part in
  export)
    echo "== export of $MESSAGES messages"
    rss_before=$(rss_kib)
    started=$(date +%s.%N)
    id=$(curl -fsS -X POST "http://127.0.0.1:$port/v1/admin/exports" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d '{"scope":"org"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["export"])')
    rss_max=$rss_before
    while :; do
      state=$(curl -fsS "http://127.0.0.1:$port/v1/admin/exports/$id" -H "Authorization: Bearer $token")
      r=$(rss_kib); [ "$r" -gt "$rss_max" ] && rss_max=$r
      case $state in *'"ready"'*|*'"failed"'*) break ;; esac
      sleep 0.2
    done
    seconds=$(python3 -c "import time,sys; print(time.time()-float(sys.argv[1]))" "$started")
    size=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["size"] or 0)' "$state")
    echo "$state"
    record "{\"part\":\"export\",\"revision\":\"$revision\",\"messages\":$MESSAGES,\"seconds\":$seconds,\"bytes\":$size,\"rss_kib_before\":$rss_before,\"rss_kib_max\":$rss_max}"
    ;;
  retention)
    echo "== retention of $MESSAGES messages while $RATE sends/s go on"
    base=$(run_direct --rate "$RATE" --duration 20)
    deleted0=$(metric switchboard_retention_messages_deleted_total)
    sql -c "INSERT INTO org_policies (org_id, retention_days) VALUES ($org, 30)
            ON CONFLICT (org_id) DO UPDATE SET retention_days = 30"
    samples="$work/deleted.txt"
    : >"$samples"
    ( while :; do echo "$(date +%s.%N) $(metric switchboard_retention_messages_deleted_total)" >>"$samples"; sleep 1; done ) &
    sampler=$!
    # Shorter than the deletion, so every send of this run meets it.
    during=$(run_direct --rate "$RATE" --duration 15)
    while [ "$(sql -c "SELECT count(*) FROM messages WHERE org_id = $org")" != 0 ]; do sleep 1; done
    sleep 1
    kill "$sampler"; wait "$sampler" 2>/dev/null || true
    python3 - "$samples" "$deleted0" "$base" "$during" "$revision" >>"$results" <<'PY'
import json, sys
samples = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
d0 = float(sys.argv[2])
moving = [(t, d) for t, d in samples if d > d0]
first = max((t for t, d in samples if d <= d0), default=samples[0][0])
last = min(t for t, d in samples if d == samples[-1][1])
deleted = samples[-1][1] - d0
base, during = json.loads(sys.argv[3]), json.loads(sys.argv[4])
print(json.dumps({"part": "retention", "revision": sys.argv[5], "deleted": deleted,
                  "seconds": last - first, "deleted_per_s": deleted / max(last - first, 1e-9),
                  "base": {"sends_per_s": base["sends_per_s"], **base["ack_latency"]},
                  "during": {"sends_per_s": during["sends_per_s"], **during["ack_latency"]},
                  "verified": base["verified"] and during["verified"]}))
PY
    tail -1 "$results"
    ;;
  encryption)
    cmake --build --preset release --target body_cipher_bench >/dev/null
    micro=$(build/release/body_cipher_bench)
    echo "one body: $micro"
    record "{\"part\":\"cipher\",\"revision\":\"$revision\",\"result\":$micro}"
    sealed_key=$(openssl rand -hex 32)
    # Three rounds, each with a server without a key and one with: alternating evens out the
    # machine's drift between runs.
    for round in 1 2 3; do
      for label in plain sealed; do
        key=$([ "$label" = plain ] && echo "" || echo "$sealed_key")
        echo "== send path, bodies $label, round $round"
        SWITCHBOARD_STORAGE_ENCRYPTION_KEY=$key bench_serve
        c0=$(cpu_ticks)
        open=$(run_direct --rate "$ENC_RATE" --duration 15)
        c1=$(cpu_ticks)
        closed=$(run_direct --messages 300 --window 8)
        c2=$(cpu_ticks)
        python3 - "$label" "$round" "$open" "$closed" "$c0" "$c1" "$c2" "$(getconf CLK_TCK)" "$revision" >>"$results" <<'PY'
import json, sys
label, rnd, o, c = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
c0, c1, c2, hz = (float(x) for x in sys.argv[5:9])
print(json.dumps({"part": "encryption", "revision": sys.argv[9], "bodies": label, "round": rnd,
                  "open_sends_per_s": o["sends_per_s"], "open_ack": o["ack_latency"],
                  "open_cpu_us_per_send": (c1 - c0) / hz * 1e6 / o["sends"],
                  "closed_sends_per_s": c["sends_per_s"], "closed_ack": c["ack_latency"],
                  "closed_cpu_us_per_send": (c2 - c1) / hz * 1e6 / c["sends"],
                  "verified": o["verified"] and c["verified"]}))
PY
        tail -1 "$results"
      done
    done
    ;;
  *) echo "unknown part $part" >&2; exit 2 ;;
  esac
done

python3 bench/governance_report.py "$results" "$revision"
