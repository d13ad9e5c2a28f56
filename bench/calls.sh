#!/usr/bin/env bash
# Call figures (issue 18, docs/calls.md): call setups per second and signalling relay latency from
# `switchboard-load calls` (invite, accept, S signals each way, hang-up; every call verified), on a
# Release build, a throwaway PostgreSQL with fsync on (bench/run.sh's settings) and one switchboard
# on a free 127.0.0.1 port. Results go to bench/calls-results.jsonl and a table into
# BENCHMARKS.md ("Calls"). Everything it starts is stopped by PID on exit.
# Then the same across two nodes of a cluster (a nats-server and two nodes on the same database; every
# caller on the first node, every callee on the second), unless CROSS_NODE=0.
#   bench/calls.sh [PAIRS...]    concurrent pairs per run (default: 1 10 50 200);
#                                CALLS_TOTAL=N calls per run (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_load_env
export SWITCHBOARD_CALLS_SIGNALS_PER_SECOND=1000
bench_start calls
cmake --build --preset release --target switchboard-load >/dev/null
load=build/release/switchboard-load
pairs_list=("$@")
[ ${#pairs_list[@]} -gt 0 ] || pairs_list=(1 10 50 200)
max=0
for p in "${pairs_list[@]}"; do [ "$p" -gt "$max" ] && max=$p; done

created=$("$bin" org create --name "Call bench" --admin-name Admin --admin-mobile +8613900000001 \
  --admin-password bench-password)
org=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["org"])' "$created")
"$bin" org seed --org "$org" --count $((2 * max)) --first-mobile +8613910000000 \
  --tokens-out "$work/tokens" >/dev/null
"$bin" org credit-minutes --org "$org" --minutes 100000000 --ref bench >/dev/null

revision=$(git rev-parse --short HEAD)
results=bench/calls-results.jsonl
run_calls() {  # $1: nodes, $2: ports (comma-separated), $3: pairs
  local calls=$((${CALLS_TOTAL:-2000} / $3))
  [ "$calls" -lt 5 ] && calls=5
  echo "== calls on $1 node(s): $3 pairs, $calls calls each, 5 signals each way"
  "$load" calls --ports "$2" --tokens "$work/tokens" --pairs "$3" --calls "$calls" --signals 5 \
    --revision "$revision" --results "$work/one.jsonl" --timeout 600
  python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).read().splitlines()[-1]); l["nodes"]=int(sys.argv[2]); print(json.dumps(l))' \
    "$work/one.jsonl" "$1" >>"$results"
}
for p in "${pairs_list[@]}"; do run_calls 1 "$port" "$p"; done

if [ "${CROSS_NODE:-1}" = 1 ]; then
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
  nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
  nats_port=$(free_port)
  "$nats_bin" -a 127.0.0.1 -p "$nats_port" >"$work/nats.log" 2>&1 &
  node_pids=("$!")
  node_ports=()
  for _ in 1 2; do
    p=$(free_port)
    SWITCHBOARD_SERVER_LISTEN=127.0.0.1:$p SWITCHBOARD_CLUSTER_NATS_URL=nats://127.0.0.1:$nats_port \
      "$bin" serve 2>"$work/node$p.log" &
    node_pids+=("$!")
    for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$p/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
    node_ports+=("$p")
  done
  stop_nodes() { for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; }
  trap 'stop_nodes; bench_cleanup' EXIT
  for p in 1 10 50; do run_calls 2 "${node_ports[0]},${node_ports[1]}" "$p"; done
fi
if [[ "${BENCH_PG_EXTRA:-}" == *pg_stat_statements* ]]; then
  # The statements that took PostgreSQL's time during the runs (a profile, not a figure).
  psql "$SB_TEST_DATABASE_URL" -qAt -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  psql "$SB_TEST_DATABASE_URL" -c "SELECT calls, round(total_exec_time::numeric, 0) AS exec_ms,
    round(total_plan_time::numeric, 0) AS plan_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
    FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 25"
fi
python3 - "$results" "$revision" <<'PY'
import json, sys
sys.path.insert(0, "bench")
from doc_block import replace_block
path, rev = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if r.get("revision") == rev]
lines = [f"`bench/calls.sh` at {rev}: one node, PostgreSQL with fsync on, this 2-core machine; each call is",
         "invite, accept, 5 signals each way (an offer or answer, then ICE candidates) and hang-up, and",
         "every run is verified (every call set up and ended, every signal once, in order, at the right session).",
         "",
         "With 2 nodes, every caller is on the first node and every callee on the second: each signal",
         "and event crosses the NATS bus.",
         "",
         "| nodes | concurrent pairs | calls | call setups/s | setup p50 / p99 ms | signals relayed/s | relay p50 / p99 ms | verified |",
         "|---|---|---|---|---|---|---|---|"]
for r in rows:
    s, g = r["setup_latency"], r["signal_latency"]
    lines.append(f"| {r.get('nodes', 1)} | {r['params']['pairs']} | {r['calls_completed']} | {r['call_setups_per_s']:.0f} | "
                 f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f} | {r['signals_relayed'] / r['seconds']:.0f} | "
                 f"{g['p50_ms']:.2f} / {g['p99_ms']:.2f} | {'yes' if r['verified'] else 'NO'} |")
print(replace_block("BENCHMARKS.md", "calls", lines, "## Calls"))
PY
