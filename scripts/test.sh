#!/usr/bin/env bash
# The whole test suite, as the README gives it (and .ci/run runs it):
#   1. missing Debian packages (scripts/deps.sh)
#   2. release build (build/) and ctest
#   3. ASan + UBSan build (build-asan/) and ctest once more under the sanitizers
# Prints "N passed, N failed" over both runs as the last line; exits non-zero
# if a build or any test failed. JOBS sets build and test parallelism
# (default 2); TEST_TIMEOUT caps one test in seconds (default 300).
set -uo pipefail
cd "$(dirname "$0")/.."

jobs="${JOBS:-2}"
timeout="${TEST_TIMEOUT:-300}"
passed=0
failed=0
status=0
start=$SECONDS

summary() {
  echo "test: total wall time $((SECONDS - start))s"
  echo "${passed} passed, ${failed} failed"
}

# Runs ctest for one preset and adds its counts to the totals. ctest ends with
# "NN% tests passed, F tests failed out of M".
run_ctest() {
  local preset="$1" log
  log="$(mktemp)"
  echo "test: ctest --preset $preset -j$jobs --timeout $timeout"
  ctest --preset "$preset" -j"$jobs" --timeout "$timeout" --output-on-failure 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line
  line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)"
  rm -f "$log"
  if [[ -z "$line" ]]; then
    echo "test: ctest ($preset) printed no result line (exit $rc)" >&2
    status=1
    return
  fi
  local f m
  f="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
  m="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
  passed=$((passed + m - f))
  failed=$((failed + f))
  if [[ $rc -ne 0 || $f -ne 0 ]]; then status=1; fi
}

if ! bash scripts/deps.sh; then
  echo "test: installing dependencies failed" >&2
  summary
  exit 1
fi

for preset in release asan; do
  if ! GRPCSCOPE_SKIP_DEPS=1 JOBS="$jobs" bash scripts/build.sh "$preset"; then
    echo "test: the $preset build failed" >&2
    status=1
    break
  fi
  run_ctest "$preset"
done

summary
exit "$status"
