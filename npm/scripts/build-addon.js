'use strict';

// Builds crates/node into npm/ferrosocket.<platform>.node (napi-rs naming, e.g.
// ferrosocket.linux-x64-gnu.node) with @napi-rs/cli, from source and offline; cargo
// skips unchanged work. lib/binding.js loads this in-repo build before any platform
// package. Extra arguments go to `napi build` (e.g. `-- --target aarch64-apple-darwin`).

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const pkgDir = path.join(__dirname, '..');
const manifest = path.join(pkgDir, '..', 'crates', 'node', 'Cargo.toml');
if (!fs.existsSync(manifest)) {
  console.error('ferrosocket: crates/node not found; cannot build the addon');
  process.exit(1);
}

let cli;
try {
  const pkg = require.resolve('@napi-rs/cli/package.json', { paths: [pkgDir] });
  cli = path.join(path.dirname(pkg), 'dist', 'cli.js');
} catch {
  console.error('ferrosocket: @napi-rs/cli is missing; run `npm install` in npm/');
  process.exit(1);
}

// Builds before the platform suffix wrote ferrosocket.node; it would only mislead now.
fs.rmSync(path.join(pkgDir, 'ferrosocket.node'), { force: true });

const args = [
  cli,
  'build',
  '--release',
  '--platform',
  '--no-js', // the loader is lib/binding.js, not napi's generated index.js
  '--manifest-path',
  manifest,
  '--package-json-path',
  path.join(pkgDir, 'package.json'),
  '--output-dir',
  pkgDir,
  '--dts',
  'lib/binding.d.ts',
  ...process.argv.slice(2)
];
const res = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: pkgDir });
process.exit(res.status === null ? 1 : res.status);
