#!/usr/bin/env bash
# Runs the Autobahn|Testsuite (all 517 cases, both roles) against the core's examples:
#   server role: wstest fuzzingclient  → examples/echo_server
#   client role: wstest fuzzingserver  ← examples/autobahn_client
#   AUTOBAHN_ROLE=node: wstest fuzzingclient → the npm package's echo server
#   (tests/interop/autobahn-node-server.js; needs the addon built: scripts/build.sh)
#   AUTOBAHN_ROLE=native: the same server on transport: 'native' (Rust-owned sockets),
#   permessage-deflate included
# Needs Python 2.7 (the suite is Python 2 only): uses pyenv's 2.7 when present, and
# installs autobahntestsuite from PyPI into it. About 10 minutes; not part of CI.
# Reports: target/autobahn/{servers,clients}/index.html. Exits non-zero unless every case
# is OK or INFORMATIONAL.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/target/autobahn
mkdir -p "$out"

py2=""
if command -v pyenv >/dev/null; then
  v=$(pyenv versions --bare | grep -E '^2\.7' | tail -1 || true)
  [ -n "$v" ] && py2="$(pyenv root)/versions/$v/bin/python"
fi
[ -z "$py2" ] && command -v python2.7 >/dev/null && py2=$(command -v python2.7)
if [ -z "$py2" ]; then echo "autobahn: no Python 2.7 found (pyenv or python2.7)"; exit 2; fi
if ! "$py2" -c 'import autobahntestsuite' 2>/dev/null; then
  "$py2" -m pip install --disable-pip-version-check -q autobahntestsuite==25.10.1
fi
wstest="$(dirname "$py2")/wstest"

cargo build --release -q -p ferrosocket-core --example echo_server --example autobahn_client
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

role=${AUTOBAHN_ROLE:-both}
if [ "$role" = node ] || [ "$role" = native ]; then
  port=$(free_port)
  rm -rf "${out:?}/$role"
  exclude='[]'
  node tests/interop/autobahn-node-server.js "$port" "$role" >/dev/null & pids+=($!)
  sleep 1
  cat > "$out/fuzzingclient-$role.json" <<JSON
{"outdir": "$out/$role", "servers": [{"agent": "ferrosocket", "url": "ws://127.0.0.1:$port"}],
 "cases": ["*"], "exclude-cases": $exclude, "exclude-agent-cases": {}}
JSON
  (cd "$out" && "$wstest" -m fuzzingclient -s "fuzzingclient-$role.json" >"$out/fuzzingclient-$role.log" 2>&1)
fi

# Server role (skipped with AUTOBAHN_ROLE=client, node or native).
port=$(free_port)
if [ "$role" = both ] || [ "$role" = server ]; then
  rm -rf "$out/servers"
  target/release/examples/echo_server --host 127.0.0.1 --port "$port" >/dev/null & pids+=($!)
  sleep 1
  cat > "$out/fuzzingclient.json" <<JSON
{"outdir": "$out/servers", "servers": [{"agent": "ferrosocket", "url": "ws://127.0.0.1:$port"}],
 "cases": ["*"], "exclude-cases": [], "exclude-agent-cases": {}}
JSON
  (cd "$out" && "$wstest" -m fuzzingclient -s fuzzingclient.json >"$out/fuzzingclient.log" 2>&1)
fi

# Client role (skipped with AUTOBAHN_ROLE=server, node or native).
port=$(free_port)
if [ "$role" = both ] || [ "$role" = client ]; then
  rm -rf "$out/clients"
  cat > "$out/fuzzingserver.json" <<JSON
{"url": "ws://127.0.0.1:$port", "outdir": "$out/clients", "cases": ["*"], "exclude-cases": [], "exclude-agent-cases": {}}
JSON
  (cd "$out" && exec "$wstest" -m fuzzingserver -s fuzzingserver.json --webport 0 >"$out/fuzzingserver.log" 2>&1) & pids+=($!)
  for _ in $(seq 60); do  # the suite takes a few seconds to listen
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null && break
    sleep 0.5
  done
  target/release/examples/autobahn_client --url "ws://127.0.0.1:$port" --agent ferrosocket >"$out/client.log"
fi

python3 - "$out" <<'PY'
import collections, json, os, sys
ok = True
for role in ("servers", "clients", "node", "native"):
    if not os.path.exists(f"{sys.argv[1]}/{role}/index.json"):
        continue
    idx = json.load(open(f"{sys.argv[1]}/{role}/index.json"))["ferrosocket"]
    seen = collections.Counter(v["behavior"] for v in idx.values())
    bad = sorted(k for k, v in idx.items()
                 if {v["behavior"], v["behaviorClose"]} - {"OK", "INFORMATIONAL"})
    print(f"{role}: {len(idx)} cases, {dict(seen)}" + (f", not OK: {bad}" if bad else ""))
    ok &= not bad
sys.exit(0 if ok else 1)
PY
