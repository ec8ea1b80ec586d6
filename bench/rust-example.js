'use strict';

// The benchmarks' Rust programs are examples of ferrosocket-core (echo_server, the
// clients' peer; load_generator, run.js's load): built in release once per run.

const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');

/** Builds `crates/core/examples/<name>.rs` (release) and answers the binary's path. */
function buildExample(name) {
  const built = spawnSync('cargo', ['build', '--release', '-q', '-p', 'ferrosocket-core', '--example', name], {
    cwd: root,
    stdio: 'inherit'
  });
  if (built.status !== 0) throw new Error(`cargo build of the ${name} example failed`);
  const target = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
  return path.join(target, 'release', 'examples', name);
}

module.exports = { buildExample };
