#!/usr/bin/env bash
# Runs crates/web's wasm-bindgen tests in headless Chromium (Debian's chromium + chromedriver)
# against the demo server's /echo endpoint, started here on 127.0.0.1:0 and stopped by PID.
# Prints libtest's "test result: ok. N passed; M failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
node www/server.js --port 0 >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q 'http://' "$log" && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$log" | head -1)
if [ -z "$url" ]; then echo "demo server did not start:"; cat "$log"; exit 1; fi

export FERROSOCKET_TEST_WS="ws://${url#http://}"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-60}
echo "echo server: $FERROSOCKET_TEST_WS"
# The runner reads crates/web/webdriver.json (Chromium flags) from the package directory.
timeout 900 cargo test -p ferrosocket-web --target wasm32-unknown-unknown --test browser
