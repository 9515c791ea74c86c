#!/usr/bin/env bash
# ctest's browser.install (the fixture every browser.* test requires):
# installs playwright-core into DEST/node_modules with `npm ci` from the
# committed package.json and package-lock.json in SRC. Nothing to do when
# DEST already holds that lockfile's install (a stamp of its sha256), so a
# second ctest run costs nothing. Without npm it reports itself skipped (the
# tests then skip with the reason too).
set -euo pipefail
src="$1"
dest="$2"

if ! command -v npm >/dev/null 2>&1; then
  echo "browser test skipped: npm not found (Debian's nodejs and npm; scripts/deps.sh)"
  exit 0
fi
mkdir -p "$dest"
want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
stamp="$dest/node_modules/.grpcscope-lock-sha256"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "browser.install: node_modules up to date ($dest/node_modules)"
  exit 0
fi
cp "$src/package.json" "$src/package-lock.json" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund
echo "$want" > "$stamp"
echo "browser.install: installed $(node -p 'require("playwright-core/package.json").version' 2>/dev/null || echo '?') into $dest/node_modules"
