#!/usr/bin/env bash
# Runs every test of the project and ends with one added-up line "N passed, N failed".
# Installs and builds what the tests need first (scripts/setup.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
logdir=$(mktemp -d)
total_pass=0; total_fail=0; broken=()

scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

# run_part NAME KIND CMD...: KIND is cargo (libtest output) or node (node --test output).
run_part() {
  local name=$1 kind=$2; shift 2
  local log="$logdir/$name.log"
  printf '\n\033[1;34m== %s ==\033[0m %s\n' "$name" "$*"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]} p=0 f=0
  case $kind in
    cargo)
      p=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
      f=$(grep -E '^test result:' "$log" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}') ;;
    node)
      p=$(grep -E '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
      f=$(grep -E '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ;;
  esac
  p=${p:-0}; f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; broken+=("$name (exit $rc)"); fi
  echo "-- $name: $p passed, $f failed"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
}

# --- Rust: core, bindings' Rust-side tests, doc tests, lints ---
run_part fmt cargo bash -c 'cargo fmt --all -- --check && echo "test result: ok. 1 passed; 0 failed"'
run_part clippy cargo bash -c 'cargo clippy --workspace --all-targets -- -D warnings && echo "test result: ok. 1 passed; 0 failed"'
run_part rust cargo cargo test --workspace
run_part core-wasm-build cargo bash -c 'cargo build -p ferrosocket-core --no-default-features --target wasm32-unknown-unknown && echo "test result: ok. 1 passed; 0 failed"'
run_part crate-package cargo bash -c 'cargo package -p ferrosocket-core --allow-dirty && echo "test result: ok. 1 passed; 0 failed"'
run_part core-docs cargo bash -c 'RUSTDOCFLAGS="-D warnings" cargo doc -p ferrosocket-core --no-deps --quiet && echo "test result: ok. 1 passed; 0 failed"'

# --- Browser (wasm in headless Chromium) ---
if [ -x tests/run-browser.sh ]; then run_part browser cargo tests/run-browser.sh; fi

# --- Node: ws-compatibility, interop, demo page ---
# Twice: on the default transport ('auto': Rust-owned sockets wherever they can be) and
# on Node's sockets (FERROSOCKET_TRANSPORT=stream), so both stay ws-compatible. The
# native transport's tests once more with a libuv poll handle per socket
# (FERROSOCKET_UV_POLL=1), the poller of platforms without epoll.
if [ -d tests/node ] && ls tests/node/*.test.* >/dev/null 2>&1; then
  run_part node node node --test --test-timeout=120000 tests/node/ tests/interop/
  run_part node-stream node env FERROSOCKET_TRANSPORT=stream node --test --test-timeout=120000 tests/node/ tests/interop/
  run_part node-uv-poll node env FERROSOCKET_UV_POLL=1 node --test --test-timeout=120000 tests/node/native-transport.test.js tests/node/native-adopt.test.js tests/node/native-client.test.js
fi
# --- Packages as users install them: npm tarballs without Rust, the browser package in Vite and a plain page ---
if [ -d tests/install ]; then
  run_part install node node --test --test-timeout=300000 tests/install/
fi
if [ -d tests/browser ] && ls tests/browser/*.test.* >/dev/null 2>&1; then
  run_part demo-page node node --test --test-timeout=180000 tests/browser/
fi

echo
[ ${#broken[@]} -gt 0 ] && echo "parts that failed without a count: ${broken[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
