# Shared start-up for the feature benches (bench/admin.sh, bench/media.sh): a Release build, a
# throwaway PostgreSQL with fsync on, and one switchboard on a free 127.0.0.1 port with limits
# raised for a load generator. Source it, then call bench_start NAME; afterwards $bin, $work,
# $port and $server_pid are set, and everything started is stopped by PID on exit.
# shellcheck shell=bash

# The environment of every load run: durable PostgreSQL settings sized for a run (fsync and
# synchronous_commit stay on; checkpoints spaced so none lands inside a short run), and limits
# raised, since a load generator is one client per connection at far more than human rates.
bench_load_env() {
  export PG_EXTRA_OPTS="-c shared_buffers=1GB -c fsync=on -c synchronous_commit=on -c wal_level=replica \
-c max_wal_size=8GB -c checkpoint_timeout=30min -c wal_buffers=64MB"
  export SWITCHBOARD_LIMITS_REQUESTS_PER_SECOND=100000
  export SWITCHBOARD_LIMITS_REQUEST_BURST=100000
  export SWITCHBOARD_LIMITS_SENDS_PER_SECOND=100000
  export SWITCHBOARD_LIMITS_SEND_BURST=100000
  export SWITCHBOARD_LIMITS_LOGINS_PER_MINUTE=100000
  export SWITCHBOARD_SERVER_MAX_CONNECTIONS_PER_IP=100000
  export SWITCHBOARD_LOGGING_LEVEL=warn
}

bench_start() {
  local name=$1
  cmake --preset release >/dev/null
  cmake --build --preset release --target switchboard >/dev/null
  bin=build/release/switchboard
  # BENCH_PG_EXTRA: more server options for a profiling run (e.g.
  # "-c shared_preload_libraries=pg_stat_statements").
  export PG_EXTRA_OPTS="-c shared_buffers=1GB -c fsync=on -c synchronous_commit=on -c max_wal_size=8GB ${BENCH_PG_EXTRA:-}"
  work=$(mktemp -d "/tmp/switchboard-$name-bench.XXXXXX")
  chmod 755 "$work"
  server_pid=""
  trap bench_cleanup EXIT
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
  bench_serve
}

# (Re)starts the server with the environment as it is (a running one is stopped first) and waits
# for its port: sets $server_pid and $port.
bench_serve() {
  if [ -n "${server_pid:-}" ]; then kill -TERM "$server_pid"; wait "$server_pid" || true; fi
  SWITCHBOARD_LOGGING_LEVEL=info "$bin" serve 2>"$work/server.log" &
  server_pid=$!
  port=""
  for _ in $(seq 1 200); do
    port=$(sed -nE 's/.*listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/server.log" | head -1)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$work/server.log"; exit 1; }
}

bench_cleanup() {
  if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  tools/pg-test-cluster.sh stop "$work/pg"
  rm -rf "$work"
}
