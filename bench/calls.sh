#!/usr/bin/env bash
# Call figures (issue 18, docs/calls.md): call setups per second and signalling relay latency from
# `switchboard-load calls` (invite, accept, S signals each way, hang-up; every call verified), on a
# Release build, a throwaway PostgreSQL with fsync on (bench/run.sh's settings) and one switchboard
# on a free 127.0.0.1 port. Results go to bench/calls-results.jsonl and a table into
# BENCHMARKS.md ("Calls"). Everything it starts is stopped by PID on exit.
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
for p in "${pairs_list[@]}"; do
  calls=$((${CALLS_TOTAL:-2000} / p)); [ "$calls" -lt 5 ] && calls=5
  echo "== calls: $p pairs, $calls calls each, 5 signals each way"
  "$load" calls --port "$port" --tokens "$work/tokens" --pairs "$p" --calls "$calls" --signals 5 \
    --revision "$revision" --results "$results" --timeout 600
done
if [[ "${BENCH_PG_EXTRA:-}" == *pg_stat_statements* ]]; then
  # The statements that took PostgreSQL's time during the runs (a profile, not a figure).
  psql "$SB_TEST_DATABASE_URL" -qAt -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
  psql "$SB_TEST_DATABASE_URL" -c "SELECT calls, round(total_exec_time::numeric, 0) AS exec_ms,
    round(total_plan_time::numeric, 0) AS plan_ms, left(regexp_replace(query, '\s+', ' ', 'g'), 90) AS query
    FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 25"
fi
python3 - "$results" "$revision" <<'PY'
import json, sys
path, rev = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if r.get("revision") == rev]
lines = ["<!-- calls:begin -->",
         f"`bench/calls.sh` at {rev}: one node, PostgreSQL with fsync on, this 2-core machine; each call is",
         "invite, accept, 5 signals each way (an offer or answer, then ICE candidates) and hang-up, and",
         "every run is verified (every call set up and ended, every signal once, in order, at the right session).",
         "",
         "| concurrent pairs | calls | call setups/s | setup p50 / p99 ms | signals relayed/s | relay p50 / p99 ms | verified |",
         "|---|---|---|---|---|---|---|"]
for r in rows:
    s, g = r["setup_latency"], r["signal_latency"]
    lines.append(f"| {r['params']['pairs']} | {r['calls_completed']} | {r['call_setups_per_s']:.0f} | "
                 f"{s['p50_ms']:.2f} / {s['p99_ms']:.2f} | {r['signals_relayed'] / r['seconds']:.0f} | "
                 f"{g['p50_ms']:.2f} / {g['p99_ms']:.2f} | {'yes' if r['verified'] else 'NO'} |")
lines.append("<!-- calls:end -->")
block = "\n".join(lines)
text = open("BENCHMARKS.md").read()
if "<!-- calls:begin -->" in text:
    head, rest = text.split("<!-- calls:begin -->", 1)
    text = head + block + rest.split("<!-- calls:end -->", 1)[1]
else:
    text = text.rstrip("\n") + "\n\n## Calls\n" + block + "\n"
open("BENCHMARKS.md", "w").write(text)
print(block)
PY
