#!/usr/bin/env bash
# Media figures (issue 7): upload and download throughput of a 50 MiB file through curl, one at a
# time and four at once, with the server's resident memory sampled every 20 ms during each.
#   bench/media.sh            Release build, a throwaway PostgreSQL and a switchboard on a free
#                             127.0.0.1 port (bench/lib.sh); prints the figures.
# Everything it starts is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start media
python3 bench/media_bench.py --port "$port" --bin "$bin" --pid "$server_pid" --work "$work"
