#!/usr/bin/env bash
# Installs what the build and the tests need, skipping what is already present.
# Safe to run again and again; called by scripts/demo.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

# Rust target for the browser package.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must match the wasm-bindgen version in Cargo.lock exactly.
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ -n "$want" ] && [ "$want" != "$have" ]; then
  log "installing wasm-bindgen-cli $want (found: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want" --force
fi

# Headless Chromium and its driver from Debian (never a downloaded browser).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  log "installing chromium and chromium-driver from Debian"
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -E"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

# Redis for the pub/sub scale-out tests (tests start and stop their own servers).
if ! command -v redis-server >/dev/null; then
  log "installing redis-server from Debian"
  export DEBIAN_FRONTEND=noninteractive
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -E"
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq redis-server >/dev/null
fi
# Debian starts one as a service on :6379; the tests never use it (they pick free ports).

# npm packages (npm install, not npm ci: see README).
for dir in npm tests tests/install bench www; do
  if [ -f "$dir/package.json" ] && [ ! -d "$dir/node_modules" -o "$dir/package.json" -nt "$dir/node_modules" ]; then
    log "npm install in $dir/"
    (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  fi
done

# Build the artefacts the demo and the tests use.
if [ -x scripts/build.sh ]; then scripts/build.sh; fi
