#!/usr/bin/env bash
# The benchmark in one command: installs what is missing (build packages via
# scripts/deps.sh, and nghttpx/HAProxy for the comparison), builds Release into
# build/ (or $BUILD_DIR) and runs bench/run.py with the arguments given here.
#
#   bash bench/run.sh                                   # 3 rounds x 5 s, all scenarios
#   bash bench/run.sh --rounds 5 --json-out bench.json  # any run.py flag
#
# Environment: BUILD_DIR (build), JOBS (2), BENCH_SKIP_INSTALL=1 (install
# nothing: nghttpx/HAProxy are then measured only if already present),
# BENCH_SKIP_BUILD=1 (use the binaries already in $BUILD_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${BUILD_DIR:-build}"

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if [[ "${BENCH_SKIP_INSTALL:-0}" != 1 ]]; then
  if [[ -f scripts/deps.sh ]]; then
    bash scripts/deps.sh
  fi
  missing=()
  for pkg in nghttp2-proxy haproxy util-linux procps openssl; do
    installed "$pkg" || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ "$(id -u)" -ne 0 ]]; then
      echo "bench: not root, not installing ${missing[*]} (the comparison skips what is missing)" >&2
    else
      echo "bench: installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      # policy-rc.d-free containers may try to start haproxy.service; the
      # benchmark starts its own haproxy on a free loopback port either way.
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  fi
fi

if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  echo "bench: cmake -S . -B $build_dir -DCMAKE_BUILD_TYPE=Release"
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  echo "bench: cmake --build $build_dir --target grpcscope grpcscope-echo-server grpcscope-loadgen"
  cmake --build "$build_dir" -j"${JOBS:-2}" --target grpcscope grpcscope-echo-server grpcscope-loadgen
fi

exec /usr/bin/python3 bench/run.py --build-dir "$build_dir" "$@"
