#!/usr/bin/env bash
# Starts a cluster on this machine to try: nats-server, three `switchboard serve` nodes on one
# PostgreSQL database, and haproxy in front on 127.0.0.1:8080. Ctrl-C stops everything it started
# (by PID). Run deploy/quickstart.sh once first (it builds, provisions PostgreSQL and the database).
#   deploy/cluster/start-local.sh [nodes]      # default 3
# Environment: SWITCHBOARD_DATABASE_URL (default postgresql:///switchboard), BASE_PORT (8081),
# NATS_PORT (4222), LB_PORT (8080), BIN (build/release/switchboard).
set -euo pipefail
cd "$(dirname "$0")/../.."

nodes=${1:-3}
bin=${BIN:-build/release/switchboard}
base_port=${BASE_PORT:-8081}
nats_port=${NATS_PORT:-4222}
lb_port=${LB_PORT:-8080}
export SWITCHBOARD_DATABASE_URL=${SWITCHBOARD_DATABASE_URL:-postgresql:///switchboard}
nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)
[ -x "$bin" ] || { echo "start-local: $bin not built (run deploy/quickstart.sh first)" >&2; exit 1; }
[ -x "$nats_bin" ] || { echo "start-local: nats-server missing (deploy/install-deps.sh installs it)" >&2; exit 1; }
[ -x "$haproxy_bin" ] || { echo "start-local: haproxy missing (deploy/install-deps.sh installs it)" >&2; exit 1; }

run=$(mktemp -d /tmp/switchboard-cluster.XXXXXX)
pids=()
stop_all() {
  trap - INT TERM EXIT
  echo "start-local: stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "start-local: logs kept in $run"
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

sed "s/^listen: .*/listen: 127.0.0.1:$nats_port/" deploy/cluster/nats-server.conf >"$run/nats-server.conf"
"$nats_bin" -c "$run/nats-server.conf" >"$run/nats.log" 2>&1 &
pids+=($!)

"$bin" migrate >/dev/null
servers=""
for i in $(seq 1 "$nodes"); do
  port=$((base_port + i - 1))
  SWITCHBOARD_SERVER_LISTEN=127.0.0.1:$port \
    SWITCHBOARD_CLUSTER_NATS_URL=nats://127.0.0.1:$nats_port \
    SWITCHBOARD_SERVER_TRUSTED_PROXIES=127.0.0.1/32 \
    SWITCHBOARD_MEDIA_DIR=${SWITCHBOARD_MEDIA_DIR:-$run/media} \
    "$bin" serve >"$run/node$i.log" 2>&1 &
  pids+=($!)
  servers+="    server node$i 127.0.0.1:$port check"$'\n'
done

# The haproxy configuration with this run's nodes and port.
awk -v servers="$servers" -v lb="$lb_port" '
  /^    # nodes$/ { if (!inside) { printf "%s", servers; inside = 1 } else inside = 0; next }
  inside { next }
  /^    bind / { print "    bind 127.0.0.1:" lb; next }
  { print }' deploy/cluster/haproxy.cfg >"$run/haproxy.cfg"
"$haproxy_bin" -f "$run/haproxy.cfg" -db >"$run/haproxy.log" 2>&1 &
pids+=($!)

for i in $(seq 1 "$nodes"); do
  port=$((base_port + i - 1))
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
done
echo "start-local: $nodes nodes on ports $base_port.., NATS on $nats_port, haproxy on 127.0.0.1:$lb_port"
echo "start-local: clients connect to ws://127.0.0.1:$lb_port/v1/ws; logs in $run; Ctrl-C stops"
wait -n "${pids[@]}" || true
echo "start-local: a process exited; see $run" >&2
