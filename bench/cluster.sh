#!/usr/bin/env bash
# Cluster benchmarks (issue 17, docs/cluster.md). A Release build, a throwaway PostgreSQL (fsync on,
# as bench/run.sh), a nats-server and Switchboard nodes on free 127.0.0.1 ports, haproxy in front:
#   1. delivery latency (send to the recipient's event, end to end) at the same offered rate for a
#      node with no bus, both users on one node of a cluster, and sender and recipient on two nodes;
#   2. throughput, closed loop, through haproxy with 1, 2 and 3 nodes (on this 2-core machine the
#      nodes share the cores: a correctness-under-load figure, not a scaling one).
# Every run is verified by switchboard-load (no gap, duplicate or reorder). Results go to
# bench/cluster-results.jsonl and a table into BENCHMARKS.md ("Clusters"). Stops by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh --bench >/dev/null
cmake --preset release >/dev/null
cmake --build --preset release --target switchboard switchboard-load >/dev/null
bin=build/release/switchboard
load=build/release/switchboard-load
nats_bin=$(command -v nats-server || echo /usr/sbin/nats-server)
haproxy_bin=$(command -v haproxy || echo /usr/sbin/haproxy)

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_load_env
work=$(mktemp -d /tmp/switchboard-cluster-bench.XXXXXX)
chmod 755 "$work"
pids=()
stop_pids() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
}
cleanup() {
  stop_pids
  [ -n "${nats_pid:-}" ] && { kill -TERM "$nats_pid" 2>/dev/null || true; wait "$nats_pid" 2>/dev/null || true; }
  tools/pg-test-cluster.sh stop "$work/pg"
  rm -rf "$work"
}
trap cleanup EXIT
tools/pg-test-cluster.sh start "$work/pg" >/dev/null
# shellcheck disable=SC1091
source "$work/pg/env"
export SWITCHBOARD_DATABASE_URL=$SB_TEST_DATABASE_URL
export SWITCHBOARD_MEDIA_DIR=$work/media
export SWITCHBOARD_SERVER_THREADS=2
"$bin" migrate >/dev/null
created=$("$bin" org create --name Bench --admin-name Admin --admin-mobile +8613700000000 --admin-password bench-admin)
org=$(printf '%s' "$created" | sed -E 's/.*"org":"([0-9]+)".*/\1/')
"$bin" org seed --org "$org" --count 3000 --first-mobile +8615000000000 --tokens-out "$work/tokens.txt" >/dev/null
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nats_port=$(free_port)
"$nats_bin" -a 127.0.0.1 -p "$nats_port" >"$work/nats.log" 2>&1 &
nats_pid=$!

ports=()
start_node() {  # $1: "bus" or "alone"
  local p log
  p=$(free_port)
  log="$work/node$p.log"
  if [ "$1" = bus ]; then
    SWITCHBOARD_SERVER_LISTEN=127.0.0.1:$p SWITCHBOARD_CLUSTER_NATS_URL=nats://127.0.0.1:$nats_port \
      SWITCHBOARD_LOGGING_LEVEL=info "$bin" serve 2>"$log" &
  else
    SWITCHBOARD_SERVER_LISTEN=127.0.0.1:$p SWITCHBOARD_LOGGING_LEVEL=info "$bin" serve 2>"$log" &
  fi
  pids+=($!)
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$p/readyz" >/dev/null 2>&1 && break
    sleep 0.05
  done
  ports+=("$p")
}
lb_port=""
start_haproxy() {
  local servers="" i=0
  for p in "${ports[@]}"; do i=$((i + 1)); servers+="    server node$i 127.0.0.1:$p check"$'\n'; done
  lb_port=$(free_port)
  awk -v servers="$servers" -v lb="$lb_port" '
    /^    # nodes$/ { if (!inside) { printf "%s", servers; inside = 1 } else inside = 0; next }
    inside { next }
    /^    bind / { print "    bind 127.0.0.1:" lb; next }
    /^    log stdout/ { next }
    /option httplog/ { next }
    { print }' deploy/cluster/haproxy.cfg >"$work/haproxy.cfg"
  "$haproxy_bin" -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$lb_port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
}

results=bench/cluster-results.jsonl
: >"$results"
run() {  # $1: the case's label; the rest: switchboard-load arguments
  local label=$1
  shift
  echo "== $label: $*" >&2
  "$load" "$@" --tokens "$work/tokens.txt" --revision "$rev" --results "$work/one.jsonl" | grep -v '^{' >&2 ||
    echo "   (exit $?: see above)" >&2
  python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).read().splitlines()[-1]); l["case"]=sys.argv[2]; print(json.dumps(l))' \
    "$work/one.jsonl" "$label" >>"$results"
}

# 1. Latency at the same offered rate.
start_node alone
"$load" direct --pairs 100 --rate 1000 --duration 3 --port "${ports[0]}" --tokens "$work/tokens.txt" >/dev/null
for rate in 1000 3000; do
  run "alone r$rate" direct --pairs 100 --rate "$rate" --duration 10 --port "${ports[0]}" --first-user 0
done
stop_pids
ports=()
start_node bus
start_node bus
# Warm-up of both user sets (not recorded): a session's first message in a conversation reads its
# predecessors from PostgreSQL once (docs/cluster.md); the runs below measure the steady state.
"$load" direct --pairs 100 --rate 1000 --duration 3 --port "${ports[0]}" --first-user 0 \
  --tokens "$work/tokens.txt" >/dev/null
"$load" direct --pairs 100 --rate 1000 --duration 3 --ports "${ports[0]},${ports[1]}" --first-user 200 \
  --tokens "$work/tokens.txt" >/dev/null
for rate in 1000 3000; do
  run "same-node r$rate" direct --pairs 100 --rate "$rate" --duration 10 --port "${ports[0]}" --first-user 0
  run "cross-node r$rate" direct --pairs 100 --rate "$rate" --duration 10 --ports "${ports[0]},${ports[1]}" --first-user 200
done
stop_pids
ports=()

# 2. Throughput through haproxy, 1 to 3 nodes.
for n in 1 2 3; do
  for _ in $(seq 1 "$n"); do start_node bus; done
  start_haproxy
  first=$((400 + (n - 1) * 700))
  run "haproxy ${n}n direct" direct --pairs 100 --messages 300 --window 8 --port "$lb_port" --first-user "$first"
  run "haproxy ${n}n group100" group --groups 1 --members 100 --senders 10 --messages 300 --window 8 \
    --port "$lb_port" --first-user $((first + 200))
  stop_pids
  ports=()
done
python3 bench/cluster_report.py "$results" BENCHMARKS.md
echo "bench: cluster figures in BENCHMARKS.md (\"Clusters\") and $results" >&2
