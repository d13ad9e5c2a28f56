#!/usr/bin/env bash
# Regenerates the web app's screenshots in docs/screenshots/ (referenced from README.md): builds the
# server (the test preset, asan, unless SB_SCREENSHOTS_PRESET says otherwise), starts a throwaway
# PostgreSQL, and runs web/tests/screenshots.mjs, which drives Debian's chromium through the main
# screens of a small demo organization. Everything started is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh >/dev/null
preset=${SB_SCREENSHOTS_PRESET:-asan}
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" --target switchboard
pgdir=$(mktemp -d /tmp/switchboard-shots-pg.XXXXXX)
trap 'tools/pg-test-cluster.sh stop "$pgdir"' EXIT
tools/pg-test-cluster.sh start "$pgdir" >/dev/null
# shellcheck disable=SC1091
source "$pgdir/env"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tools/lsan.supp:print_suppressions=0}
SB_SERVER_BINARY=$PWD/build/$preset/switchboard node web/tests/screenshots.mjs docs/screenshots
