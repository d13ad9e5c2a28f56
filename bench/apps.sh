#!/usr/bin/env bash
# Integration API figures (issue 8): the rate at which one app posts messages through
# POST /v1/app/messages, one recipient per call from 8 concurrent clients, and 100 recipients per
# call (direct conversations with the bot, already open).
#   bench/apps.sh            Release build, a throwaway PostgreSQL and a switchboard on a free
#                            127.0.0.1 port (bench/lib.sh); prints the figures.
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
export SWITCHBOARD_APPS_REQUESTS_PER_MINUTE=1000000
export SWITCHBOARD_APPS_REQUESTS_PER_DAY=1000000000
bench_start apps
python3 bench/apps_bench.py --port "$port" --bin "$bin" --work "$work"
