#!/usr/bin/env bash
# The whole test suite, as the README gives it (and .ci/run runs it):
#   1. missing Debian packages (scripts/deps.sh)
#   2. release build (build/), then every test (ctest --preset release:
#      unit, integration over h2c, and the page in headless Chromium: label
#      browser, playwright-core installed from the committed lockfile by the
#      browser.install fixture; test/browser/README.md)
#   3. the suite once more under ASan + UBSan (build-asan/, -O1 -g: the level
#      the sanitizers recommend, and a third quicker to build than -O2):
#      - the unit tests built with the sanitizers (ctest --preset asan), but
#        for those of pure functions over plain values (findings_test: the
#        rules; report_render_test: the report's text): the sanitized
#        grpcscope runs both in the integration tests anyway, and their
#        files are a third of the unit tests' build,
#      - the integration tests once more, over TLS on both legs
#        (GRPCSCOPE_TEST_TLS=1: TLS-serving echo server, the proxy terminating
#        and originating TLS, TLS clients; see test/integration/README.md),
#        against the sanitized grpcscope binary
#        (GRPCSCOPE_BINARY=build-asan/grpcscope): one pass covers both TLS
#        mode and the sanitizers. Those tests run the proxy as
#        a child process and fail on a sanitizer report in its log or an
#        unexpected exit; the drain and clean-exit tests also require exit
#        status 0, which is when LeakSanitizer reports. Their gRPC peers and
#        harness come from the release build: sanitizing them would cost a
#        second full build of gRPC-heavy test code and test nothing of ours.
#      GRPCSCOPE_FULL_ASAN=1 builds everything under the sanitizers instead
#      and runs ctest --preset asan as is.
# The last line is "N passed, N failed" over all runs; the exit status is
# non-zero if a build or any test failed. JOBS sets build and test
# parallelism (default 2); TEST_TIMEOUT caps one test in seconds (default 300).
set -uo pipefail
cd "$(dirname "$0")/.."

jobs="${JOBS:-2}"
timeout="${TEST_TIMEOUT:-300}"
passed=0
failed=0
status=0
start=$SECONDS

# The sanitizer settings of the asan test preset, for runs outside it.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

summary() {
  echo "test: total wall time $((SECONDS - start))s"
  echo "${passed} passed, ${failed} failed"
}

# Prints each skipped gtest of a ctest run with the reason it gave
# (GTEST_SKIP's message: "direct mode: ...", "TLS mode: ..."), and each
# skipped browser test with its "browser test skipped: ..." line, from the
# LastTest.log (the full output of every test) in build directory $2, when it
# was written after the file $1.
show_skips() {
  local marker="$1" dir="$2" last
  [[ -n "$dir" ]] || return 0
  last="$dir/Testing/Temporary/LastTest.log"
  [[ -f "$last" && "$last" -nt "$marker" ]] || return 0
  awk '/^[0-9]+\/[0-9]+ Test: / { ctest_name = $3 }
       /^browser test skipped: / { sub(/^browser test skipped: /, ""); print "test: skipped " ctest_name ": " $0 }
       /^\[ RUN      \] / { name = $4 }
       reason_next {
         reason_next = 0
         if ($0 ~ /^\[  SKIPPED \]/) $0 = "(no reason given)"
         sub(/^[ \t]+/, "")
         print "test: skipped " name ": " $0
       }
       /: Skipped$/ { reason_next = 1 }' "$last"
}

# Runs ctest with the given arguments and adds its counts to the totals. ctest
# ends with "NN% tests passed, F tests failed out of M" (skipped tests count as
# passed there, and here; show_skips names them with their reasons).
run_ctest() {
  local what="$1" log marker rc line f m dir="" prev=""
  shift
  for arg in "$@"; do  # the build directory: --preset's (CMakePresets.json) or --test-dir
    if [[ "$prev" == --preset ]]; then
      if [[ "$arg" == release ]]; then dir=build; else dir="build-$arg"; fi
    fi
    [[ "$prev" == --test-dir ]] && dir="$arg"
    prev="$arg"
  done
  log="$(mktemp)"
  marker="$(mktemp)"
  echo "test: $what: ctest $* -j$jobs --timeout $timeout"
  ctest "$@" -j"$jobs" --timeout "$timeout" --output-on-failure 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  show_skips "$marker" "$dir"
  rm -f "$marker"
  line="$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)"
  rm -f "$log"
  if [[ -z "$line" ]]; then
    echo "test: $what: ctest printed no result line (exit $rc)" >&2
    status=1
    return
  fi
  f="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")"
  m="$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")"
  passed=$((passed + m - f))
  failed=$((failed + f))
  echo "test: $what: $((m - f)) passed, $f failed ($((SECONDS - start))s so far)"
  if [[ $rc -ne 0 || $f -ne 0 ]]; then status=1; fi
}

finish() {
  summary
  exit "$status"
}

if ! bash scripts/deps.sh; then
  echo "test: installing dependencies failed" >&2
  status=1
  finish
fi

# 2. release
if ! GRPCSCOPE_SKIP_DEPS=1 JOBS="$jobs" bash scripts/build.sh release; then
  echo "test: the release build failed" >&2
  status=1
  finish
fi
run_ctest "release" --preset release

# 3. ASan + UBSan
if [[ "${GRPCSCOPE_FULL_ASAN:-0}" == 1 ]]; then
  if ! GRPCSCOPE_SKIP_DEPS=1 JOBS="$jobs" bash scripts/build.sh asan; then
    echo "test: the asan build failed" >&2
    status=1
    finish
  fi
  run_ctest "asan" --preset asan
  finish
fi

# wire_profile_test lives beside its library (cmake/wire_profile.cmake), not in test/unit/.
asan_pure_tests=" findings_test report_render_test "
asan_targets=(grpcscope wire_profile_test)
for t in $(grep -oE '^add_executable\(\w+' test/unit/CMakeLists.txt | sed 's/add_executable(//'); do
  [[ "$asan_pure_tests" == *" $t "* ]] || asan_targets+=("$t")
done
echo "test: cmake --preset asan; building with ASan + UBSan: ${asan_targets[*]}"
asan_ok=1
cmake --preset asan >/dev/null || asan_ok=0
if [[ $asan_ok == 1 ]]; then
  cmake --build --preset asan -j"$jobs" --target "${asan_targets[@]}" || asan_ok=0
fi
if [[ $asan_ok == 0 ]]; then
  echo "test: the asan build failed" >&2
  status=1
  finish
fi
# Unit tests only: tests of targets not built here show up as *_NOT_BUILT.
# Not the browser tests: build-asan has no echo server or load generator.
run_ctest "asan unit" --preset asan --label-exclude 'integration|browser' --exclude-regex '_NOT_BUILT$'
# The browser tests (label browser) are not run again here: they check the
# page (its DOM, its numbers, its reconnect), which the sanitizers do not
# see; the admin side they exercise is already run sanitized by the
# integration tests; and their timing windows (a finding on the page within
# 4 s, "disconnected" within 5 s) were not measured against the slower
# sanitized binary. By hand: GRPCSCOPE_BINARY=build-asan/grpcscope
# ctest --preset release -L browser.
export GRPCSCOPE_BINARY="$PWD/build-asan/grpcscope" GRPCSCOPE_TEST_TLS=1
run_ctest "asan integration over TLS (sanitized grpcscope)" --preset release --label-regex integration
unset GRPCSCOPE_BINARY GRPCSCOPE_TEST_TLS
finish
