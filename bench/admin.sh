#!/usr/bin/env bash
# Organization administration figures (issue 6): the time to import 10,000 members from CSV, and
# directory search latency on an organization of 100,000 members, with the query plan.
#   bench/admin.sh            Release build, a throwaway PostgreSQL (bench/run.sh's settings) and
#                             a switchboard on free 127.0.0.1 ports; prints the figures.
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start admin
python3 bench/admin_bench.py --port "$port" --bin "$bin" --db "$SB_TEST_DATABASE_URL"
