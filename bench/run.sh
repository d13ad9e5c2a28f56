#!/usr/bin/env bash
# Measures durable send throughput and ack latency: builds Release, starts a throwaway
# PostgreSQL and a switchboard on free ports, creates an organization, runs switchboard-load with
# the given arguments (see tools/load/main.cpp), and stops both by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target switchboard switchboard-load >/dev/null
bin=build/release/switchboard

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
export SWITCHBOARD_AUTH_SCRYPT_LOG2_N=10
export SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND=100000
export SWITCHBOARD_LIMITS_REQUEST_BURST=100000
export SWITCHBOARD_LOGGING_LEVEL=warn
"$bin" migrate >/dev/null
created=$("$bin" org create --name Bench --admin-name Admin --admin-mobile +8613700000000 --admin-password bench-admin)
org=$(printf '%s' "$created" | sed -E 's/.*"org":"([0-9]+)".*/\1/')
SWITCHBOARD_LOGGING_LEVEL=info "$bin" serve 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 200); do
  port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/server.log"; exit 1; }
status=0
build/release/switchboard-load --port "$port" --org "$org" --admin-mobile +8613700000000 --admin-password bench-admin \
  --server-pid "$server_pid" "$@" ||
  status=$?
# Group-commit efficiency of the run: messages per batch.
curl -s "http://127.0.0.1:$port/metrics" | awk '/^switchboard_writer_batches_total/{b=$2} /^switchboard_writer_messages_total/{m=$2} END{if (b>0) printf "group commit: %d messages in %d batches (%.1f per batch)\n", m, b, m/b}'
exit $status
