#!/usr/bin/env bash
# Event callback figures (issue 8): deliveries per second from the outbox to apps' receivers.
# An import of members queues one member.added event per member for every app with a callback;
# the figure is events received and answered 2xx per second, for one app (its events go one at a
# time, in order) and for eight apps at once.
#   bench/callbacks.sh       Release build, a throwaway PostgreSQL and a switchboard on a free
#                            127.0.0.1 port (bench/lib.sh); the receiver runs in the bench process.
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
SWITCHBOARD_APPS_SECRET_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SWITCHBOARD_APPS_SECRET_KEY
export SWITCHBOARD_CALLBACKS_ALLOW_HTTP=true SWITCHBOARD_CALLBACKS_ALLOW_PRIVATE=true
bench_start callbacks
python3 bench/callbacks_bench.py --port "$port" --bin "$bin"
