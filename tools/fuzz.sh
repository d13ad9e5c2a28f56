#!/usr/bin/env bash
# Runs the libFuzzer targets (fuzz/) for SECONDS each (default 600), two at a time, starting from
# the seed corpora in tests/fuzz_corpus/. The working corpus and any crash, leak or timeout
# reproducer go to build/fuzz/runs/TARGET/; the script exits 1 if any target found something.
#   tools/fuzz.sh [SECONDS] [TARGET ...]     targets: request config frame import media
#   tools/fuzz.sh --regress                 every seed (and past finding) once, no fuzzing: tools/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--regress" ]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz >/dev/null
  for t in request config frame import media; do
    build/fuzz/fuzz_"$t" -runs=0 tests/fuzz_corpus/"$t" >/tmp/fuzz-regress-$$-"$t".log 2>&1 ||
      { cat /tmp/fuzz-regress-$$-"$t".log; rm -f /tmp/fuzz-regress-$$-*.log; exit 1; }
    echo "fuzz_$t: $(ls tests/fuzz_corpus/"$t" | wc -l) seeds and past findings replayed, none fails"
  done
  rm -f /tmp/fuzz-regress-$$-*.log
  exit 0
fi
seconds=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(request config frame import media)
command -v clang++ >/dev/null || { echo "fuzz: needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz >/dev/null
status=0
pids=()
run() {
  local t=$1 dir=build/fuzz/runs/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -n tests/fuzz_corpus/"$t"/* "$dir/corpus/" 2>/dev/null || true
  build/fuzz/fuzz_"$t" "$dir/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=70000 -artifact_prefix="$dir/artifacts/" -print_final_stats=1 >"$dir/log" 2>&1
}
for t in "${targets[@]}"; do
  run "$t" &
  pids+=("$!")
  if [ ${#pids[@]} -ge 2 ]; then wait "${pids[0]}" || status=1; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
for t in "${targets[@]}"; do
  dir=build/fuzz/runs/$t
  runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$dir/log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$dir/log" | tail -1)
  found=$(find "$dir/artifacts" -type f | wc -l)
  echo "fuzz_$t: ${runs:-?} inputs in ${seconds} s, ${cov:-cov: ?}, corpus $(ls "$dir/corpus" | wc -l), findings $found"
  [ "$found" -eq 0 ] || status=1
done
exit $status
