#!/usr/bin/env bash
# Builds the Node addon (npm/) and the browser package (pkg/). Cargo and napi skip
# unchanged work, so running it again is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1;34m[build]\033[0m %s\n' "$*"; }

if [ -f npm/package.json ] && grep -q '"build"' npm/package.json; then
  log "Node addon (crates/node -> npm/)"
  (cd npm && npm run --silent build)
fi

if [ -x scripts/build-web.sh ]; then
  log "browser package (crates/web -> pkg/)"
  scripts/build-web.sh
fi
