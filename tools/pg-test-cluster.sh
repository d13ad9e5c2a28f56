#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests: `start DIR` creates and starts one on a free
# 127.0.0.1 port and writes DIR/env (variables the tests read); `stop DIR` stops it by its
# postmaster PID and removes DIR. Nothing here touches the system's own clusters.
# PG_EXTRA_OPTS adds server settings ("-c name=value ..."), as bench/run.sh does.
set -euo pipefail

cmd=${1:?usage: pg-test-cluster.sh start|stop DIR}
dir=${2:?usage: pg-test-cluster.sh start|stop DIR}
bindir=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || dirname "$(command -v pg_ctl)")

# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
  as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
  for attempt in $(seq 1 20); do
    port=$(( 20000 + RANDOM % 40000 ))
    opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=128MB ${PG_EXTRA_OPTS:-}"
    if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 -o "$opts" start >/dev/null 2>&1; then
      # Tests stop and restart this cluster (readiness, outage tests) through these two scripts.
      prefix=""
      if [ "$(id -u)" -eq 0 ]; then prefix="runuser -u postgres --"; fi
      printf '#!/bin/sh\nexec %s %s/pg_ctl -D %s/data -w -t 60 -m fast stop\n' "$prefix" "$bindir" "$dir" >"$dir/stop-server"
      printf '#!/bin/sh\nexec %s %s/pg_ctl -D %s/data -l %s/postgres.log -w -t 60 -o "%s" start\n' \
        "$prefix" "$bindir" "$dir" "$dir" "$opts" >"$dir/start-server"
      # A crash as the soak test wants it: no shutdown checkpoint, recovery at the next start.
      printf '#!/bin/sh\nexec %s %s/pg_ctl -D %s/data -w -t 60 -m immediate stop\n' "$prefix" "$bindir" "$dir" >"$dir/crash-server"
      chmod +x "$dir/stop-server" "$dir/start-server" "$dir/crash-server"
      cat >"$dir/env" <<ENV
export SB_TEST_DATABASE_URL='postgresql://postgres@127.0.0.1:$port/postgres'
export SB_TEST_PG_STOP='$dir/stop-server'
export SB_TEST_PG_START='$dir/start-server'
export SB_TEST_PG_CRASH='$dir/crash-server'
ENV
      echo "pg-test-cluster: PostgreSQL on 127.0.0.1:$port (data in $dir/data)"
      exit 0
    fi
  done
  echo "pg-test-cluster: could not start PostgreSQL; see $dir/postgres.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then
    pid=$(head -1 "$dir/data/postmaster.pid")
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$dir"
  ;;
*)
  echo "usage: pg-test-cluster.sh start|stop DIR" >&2
  exit 2
  ;;
esac
