#!/usr/bin/env bash
# Builds pkg/ (the npm package `ferrosocket-web`): the wasm module of crates/web/link (the core
# session behind a numeric ABI, no wasm-bindgen) optimised with wasm-opt from the npm `binaryen`
# package, and the hand-written JS class (crates/web/js/) minified with terser (both www/
# devDependencies); prints the gzipped size and fails when it passes the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1;34m[build-web]\033[0m %s\n' "$*"; }

# The linker wrapper exports only the module's own functions (see the script).
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$PWD/crates/web/link/wasm-ld.sh" \
  cargo build -p ferrosocket-web-link --target wasm32-unknown-unknown --profile wasm-release
mkdir -p pkg
# Files of earlier builds (wasm-bindgen's glue, the class as a file of its own).
rm -f pkg/ferrosocket_web.js pkg/ferrosocket_web.d.ts pkg/ferrosocket_web_bg.wasm.d.ts pkg/reconnecting-websocket.js
out=pkg/ferrosocket_web_bg.wasm
cp target/wasm32-unknown-unknown/wasm-release/ferrosocket_web_link.wasm "$out"
node crates/web/link/post-link.mjs "$out" # wasm-bindgen's section out, std's panic machinery trapped

# Debian's binaryen is broken; the npm package ships a working wasm-opt (www/ devDependency).
opt=www/node_modules/.bin/wasm-opt
if [ -x "$opt" ]; then
  log "wasm-opt"
  # Measured on this module (gzipped): flatten + rereloop before -Oz saves ~120 B, and a second
  # round with --closed-world GUFA (true here: JS calls only the exports, sees no table) ~80 B.
  "$opt" --flatten --rereloop -Oz --converge --closed-world --gufa-optimizing -Oz --converge \
    --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$out" -o "$out.opt"
  mv "$out.opt" "$out"
fi

# The package entry: the WebSocket-shaped JS class, which also loads the wasm (one file: each
# file a browser loads is one more request and one more gzip stream).
cp crates/web/js/reconnecting-websocket.js pkg/index.js
cp crates/web/js/index.d.ts pkg/

# Minified JS: what browsers download is counted by the budget below.
terser=www/node_modules/.bin/terser
if [ -x "$terser" ]; then
  log "terser"
  "$terser" pkg/index.js --module --compress passes=2 --mangle -o pkg/index.js.min
  mv pkg/index.js.min pkg/index.js
fi

# The package manifest (a committed template: pkg/ is the npm package `ferrosocket-web`) and the license.
cp crates/web/js/package.json LICENSE pkg/

# Size budget (issue 11): everything a browser loads from pkg/ (the wasm and every JS file),
# each gzipped on its own as a server sends it. README.md, browser section, lists what it holds.
# WEB_SIZE_BUDGET overrides it.
budget=${WEB_SIZE_BUDGET:-15000}
w=$(gzip -9c "$out" | wc -c)
j=0
for f in pkg/*.js; do j=$((j + $(gzip -9c "$f" | wc -c))); done
log "pkg/ gzipped: wasm $w B + JS $j B = $((w + j)) B (budget $budget B)"
if [ $((w + j)) -gt "$budget" ]; then
  log "FAILED: pkg/ is over its size budget ($((w + j)) > $budget B)"
  exit 1
fi
