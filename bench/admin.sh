#!/usr/bin/env bash
# Organization administration figures (issue 6): the time to import 10,000 members from CSV, and
# directory search latency on an organization of 100,000 members, with the query plan.
#   bench/admin.sh            Release build, a throwaway PostgreSQL (bench/run.sh's settings) and
#                             a switchboard on free 127.0.0.1 ports; prints the figures.
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release --target switchboard >/dev/null
bin=build/release/switchboard
export PG_EXTRA_OPTS="-c shared_buffers=1GB -c fsync=on -c synchronous_commit=on -c max_wal_size=8GB"

work=$(mktemp -d /tmp/switchboard-admin-bench.XXXXXX)
chmod 755 "$work"
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
export SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND=100000
export SWITCHBOARD_LIMITS_REQUEST_BURST=100000
export SWITCHBOARD_LIMITS_LOGINS_PER_MINUTE=100000
export SWITCHBOARD_LOGGING_LEVEL=warn
export SWITCHBOARD_MEDIA_DIR=$work/media
"$bin" migrate >/dev/null
SWITCHBOARD_LOGGING_LEVEL=info "$bin" serve 2>"$work/server.log" &
server_pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/server.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/server.log"; exit 1; }
python3 bench/admin_bench.py --port "$port" --bin "$bin" --db "$SB_TEST_DATABASE_URL"
