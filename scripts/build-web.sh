#!/usr/bin/env bash
# Builds crates/web into pkg/ (wasm-bindgen --target web; works with bundlers too), optimises
# it with wasm-opt from the npm `binaryen` package when installed, and prints the gzipped size.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1;34m[build-web]\033[0m %s\n' "$*"; }

cargo build -p ferrosocket-web --target wasm32-unknown-unknown --profile wasm-release
wasm=target/wasm32-unknown-unknown/wasm-release/ferrosocket_web.wasm
wasm-bindgen --target web --out-dir pkg --out-name ferrosocket_web --remove-name-section --remove-producers-section "$wasm"

# Debian's binaryen is broken; the npm package ships a working wasm-opt (www/ devDependency).
opt=www/node_modules/.bin/wasm-opt
if [ -x "$opt" ]; then
  log "wasm-opt -Oz"
  "$opt" -Oz --converge --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    pkg/ferrosocket_web_bg.wasm -o pkg/ferrosocket_web_bg.wasm.opt
  mv pkg/ferrosocket_web_bg.wasm.opt pkg/ferrosocket_web_bg.wasm
fi

# The WebSocket-shaped JS class and the package entry (hand-written, in crates/web/js/).
cp crates/web/js/reconnecting-websocket.js crates/web/js/index.js crates/web/js/index.d.ts pkg/

# The package manifest (a committed template: pkg/ is the npm package `ferrosocket-web`) and the license.
cp crates/web/js/package.json LICENSE pkg/

w=$(gzip -9c pkg/ferrosocket_web_bg.wasm | wc -c)
j=$(cat pkg/ferrosocket_web.js pkg/reconnecting-websocket.js pkg/index.js | gzip -9c | wc -c)
log "pkg/ gzipped: wasm $w B + JS $j B = $((w + j)) B (budget 25600 B)"
