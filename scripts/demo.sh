#!/usr/bin/env bash
# The README's "run the demo" command: installs what is missing (scripts/setup.sh), builds the
# Node addon and the browser package, then starts the demo server on 127.0.0.1 and prints its URL.
# PORT=0 picks a free port; default 8080.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node www/server.js --port "${PORT:-8080}"
