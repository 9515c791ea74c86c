#!/usr/bin/env bash
# Builds grpcscope with a CMake preset (CMakePresets.json):
#   bash scripts/build.sh            # release -> build/grpcscope
#   bash scripts/build.sh asan       # ASan + UBSan -> build-asan/grpcscope
#   bash scripts/build.sh debug      # -> build-debug/grpcscope
# Installs missing Debian packages first (scripts/deps.sh); set
# GRPCSCOPE_SKIP_DEPS=1 to skip that step. JOBS sets build parallelism (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

preset="${1:-release}"
case "$preset" in
  release|asan|debug) ;;
  *) echo "build.sh: unknown preset \"$preset\" (release, asan or debug)" >&2; exit 2 ;;
esac

if [[ "${GRPCSCOPE_SKIP_DEPS:-0}" != 1 ]]; then
  bash scripts/deps.sh
fi

echo "build: cmake --preset $preset"
cmake --preset "$preset" >/dev/null
echo "build: cmake --build --preset $preset -j${JOBS:-2}"
cmake --build --preset "$preset" -j"${JOBS:-2}"
