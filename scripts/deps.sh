#!/usr/bin/env bash
# Installs the Debian 12 packages grpcscope needs to build, test and run the
# demo. Only what is missing is installed: on a machine that has everything,
# this runs no apt-get at all. Needs root (or sudo) when something is missing.
set -euo pipefail

# One list for everyone: add packages here.
PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libnghttp2-dev libssl-dev
  libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev
  prometheus-cpp-dev libcivetweb-dev
  libgtest-dev libgmock-dev
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  libgrpc++-dev protobuf-compiler-grpc
  python3-grpcio python3-protobuf
  nghttp2-client openssl procps
  prometheus libcurl4-openssl-dev
  golang-go golang-google-grpc-dev
  iproute2
  chromium fonts-dejavu-core
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
# Node.js 18+ and npm bundle the live page at build time (cmake/page_assets.cmake)
# and run the browser tests. Checked as commands, not packages: a Node.js from
# elsewhere (NodeSource's nodejs carries its own npm) serves as well, and
# Debian's npm package would conflict with it.
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if ! command -v npm >/dev/null 2>&1 || [[ "$node_major" -lt 18 ]]; then
  missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps: all ${#PACKAGES[@]} packages are installed, and Node.js $node_major with npm"
  exit 0
fi

echo "deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo_cmd=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "deps: missing packages and not root (and no sudo): ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
