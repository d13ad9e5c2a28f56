#!/usr/bin/env bash
# The benchmark suite. Builds Release, starts a throwaway PostgreSQL (settings below) and a
# switchboard on free 127.0.0.1 ports, seeds an organization with users, then:
#   bench/run.sh                 runs the standard set and writes BENCHMARKS.md's generated
#                                section and bench/latency.png (results also in bench/results.jsonl)
#   bench/run.sh SCENARIO ARGS   one switchboard-load run (see `switchboard-load --help`)
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh --bench >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release --target switchboard switchboard-load >/dev/null
bin=build/release/switchboard
load=build/release/switchboard-load

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_load_env

work=$(mktemp -d /tmp/switchboard-bench.XXXXXX)
chmod 755 "$work"  # the postgres user must reach its data directory inside
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  tools/pg-test-cluster.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
tools/pg-test-cluster.sh start "$work/pg" >/dev/null
# shellcheck disable=SC1091
source "$work/pg/env"
export SWITCHBOARD_DATABASE_URL=$SB_TEST_DATABASE_URL
export SWITCHBOARD_SERVER_LISTEN=127.0.0.1:0
export SWITCHBOARD_MEDIA_DIR=$work/media
"$bin" migrate >/dev/null

# Connections are bounded by the file-descriptor limit of this machine (server and load
# generator each need one per connection).
fd_limit=$(ulimit -Hn)
[ "$fd_limit" = unlimited ] && fd_limit=1048576
max_conns=$(( fd_limit - 1000 ))
[ "$max_conns" -gt 100000 ] && max_conns=100000
users=$(( max_conns > 20000 ? max_conns : 20000 ))

created=$("$bin" org create --name Bench --admin-name Admin --admin-mobile +8613700000000 --admin-password bench-admin)
org=$(printf '%s' "$created" | sed -E 's/.*"org":"([0-9]+)".*/\1/')
seed_start=$(date +%s%N)
"$bin" org seed --org "$org" --count "$users" --first-mobile +8615000000000 --tokens-out "$work/tokens.txt" >/dev/null
seed_s=$(awk -v a="$seed_start" -v b="$(date +%s%N)" 'BEGIN{printf "%.2f", (b - a) / 1e9}')

start_server() {  # a fresh process: memory figures start from an empty heap
  bench_serve
  common=(--port "$port" --tokens "$work/tokens.txt" --server-pid "$server_pid" --revision "$rev")
}
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
start_server

if [ $# -gt 0 ]; then
  status=0
  "$load" "$@" "${common[@]}" || status=$?
  curl -s "http://127.0.0.1:$port/metrics" | awk '/^switchboard_writer_batches_total/{b=$2} /^switchboard_writer_messages_total/{m=$2} END{if (b>0) printf "group commit: %d messages in %d batches (%.1f per batch)\n", m, b, m/b}'
  exit $status
fi

# ---- The standard set ----
results=bench/results.jsonl
: >"$results"
pg_pid=$(head -1 "$work/pg/data/postmaster.pid")
run() {  # a run that fails verification is recorded and reported, and the suite goes on
  echo "== $*" >&2
  local before
  before=$(bench/proc_cpu.py snapshot "$server_pid" "$pg_pid" "$SB_TEST_DATABASE_URL")
  "$load" "$@" "${common[@]}" --results "$results" | grep -v '^{' >&2 || echo "   (exit $?: see above)" >&2
  # What the run cost the server and PostgreSQL (CPU, WAL), per message (bench/proc_cpu.py).
  bench/proc_cpu.py annotate "$results" "$before" "$server_pid" "$pg_pid" "$SB_TEST_DATABASE_URL"
}

# The machine and the disk's fsync rate (what every durable commit waits for).
{
  echo "{\"machine\":true,\"cores\":$(nproc),\"cpu\":\"$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)\",\
\"mem_gib\":$(awk '/MemTotal/{printf "%.1f", $2/1048576}' /proc/meminfo),\"kernel\":\"$(uname -r)\",\
\"fd_limit\":$fd_limit,\"revision\":\"$rev\",\"date\":\"$(date -u +%Y-%m-%d)\",\"seed_users\":$users,\"seed_s\":$seed_s,\
\"fdatasync_per_s\":$(/usr/lib/postgresql/15/bin/pg_test_fsync -s 3 -f "$work/fsync.tmp" | awk '$1 == "fdatasync" {print $2; exit}')}"
} >>"$results"

# The raw PostgreSQL baseline: the message row alone, through pgbench, 1 and 64 rows a commit.
psql -qX "$SB_TEST_DATABASE_URL" -c "CREATE SEQUENCE IF NOT EXISTS bench_seq"
for batch in 1 64; do
  before=$(bench/proc_cpu.py snapshot "" "$pg_pid" "$SB_TEST_DATABASE_URL")
  pgb=$(pgbench -n -c 8 -j 2 -T 10 -D batch=$batch -f bench/pgbench-insert.sql "$SB_TEST_DATABASE_URL" 2>/dev/null)
  tps=$(printf '%s\n' "$pgb" | sed -nE 's/^tps = ([0-9.]+).*/\1/p')
  commits=$(printf '%s\n' "$pgb" | sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p')
  echo "{\"scenario\":\"pgbench\",\"batch\":$batch,\"clients\":8,\"tps\":$tps,\"rows\":$((commits * batch)),\"rows_per_s\":$(awk -v t="$tps" -v b=$batch 'BEGIN{printf "%.0f", t * b}')}" >>"$results"
  bench/proc_cpu.py annotate "$results" "$before" "" "$pg_pid" "$SB_TEST_DATABASE_URL"
  echo "== pgbench batch $batch: $tps commits/s" >&2
done
psql -qX "$SB_TEST_DATABASE_URL" -c "DELETE FROM messages WHERE org_id = 0" -c "VACUUM ANALYZE messages"
# pgbench's WAL would otherwise make the runs below create (zero-fill) new WAL segments instead of
# recycling old ones: a checkpoint recycles them, as on a server that has been running a while.
psql -qX "$SB_TEST_DATABASE_URL" -c "CHECKPOINT"
# Warm-up (not recorded): connections, caches and the direct conversations of the set below.
"$load" direct --pairs 100 --rate 2000 --duration 3 "${common[@]}" >/dev/null

# Direct chat at rising offered load (open loop, 10 s each) until ack p99 passes 50 ms.
for rate in 1000 2000 3000 4000 5000 6000 8000 10000 12000 15000 20000; do
  run direct --pairs 100 --rate "$rate" --duration 10
  p99=$(tail -1 "$results" | sed -nE 's/.*"ack_latency":\{[^}]*"p99_ms":([0-9.eE+-]+).*/\1/p')
  if [ -z "$p99" ] || awk -v p="$p99" 'BEGIN{exit !(p > 50)}'; then break; fi
done
run direct --pairs 100 --messages 300 --window 8                     # closed loop: the maximum
run group --groups 1 --members 100 --senders 10 --messages 500 --window 8 --first-user 200
run group --groups 1 --members 1000 --senders 1 --messages 1000 --window 16 --first-user 300
run sync --messages 10000 --window 64 --first-user 1300
run mixed --users 5000 --rate 1000 --duration 20 --first-user 1400
# Group commit over the messaging runs, from the server's own counters.
curl -s "http://127.0.0.1:$port/metrics" | awk '/^switchboard_writer_batches_total/{b=$2} /^switchboard_writer_messages_total/{m=$2}
  END{printf "{\"group_commit\":true,\"messages\":%d,\"batches\":%d}\n", m, b}' >>"$results"
start_server
run connect --connections "$max_conns" --concurrency 2000
start_server
run idle --connections "$max_conns" --hold 30 --concurrency 2000
echo "== login" >&2
"$load" login --port "$port" --org "$org" --mobile +8613700000000 --password bench-admin --count 16 \
  --concurrency 2 --revision "$rev" --results "$results" | grep -v '^{' >&2 || true
python3 bench/report.py "$results" BENCHMARKS.md bench/latency.png
echo "bench: wrote BENCHMARKS.md and bench/latency.png" >&2
