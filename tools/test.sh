#!/usr/bin/env bash
# Runs every test: installs dependencies, builds with AddressSanitizer + UBSan, starts a throwaway
# PostgreSQL 15 on a free port, runs unit and integration tests with ctest, and stops that
# PostgreSQL again by its PID. SB_TEST_PRESET=debug builds without sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
preset=${SB_TEST_PRESET:-asan}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"

pgdir=$(mktemp -d /tmp/switchboard-test-pg.XXXXXX)
trap 'tools/pg-test-cluster.sh stop "$pgdir"' EXIT
tools/pg-test-cluster.sh start "$pgdir"
# shellcheck disable=SC1091
source "$pgdir/env"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tools/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --preset "$preset" -j "$(nproc)" --timeout 300
# The fuzz targets' seeds and past findings, replayed under ASan and UBSan (tools/fuzz.sh fuzzes).
tools/fuzz.sh --regress
