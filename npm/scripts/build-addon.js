'use strict';

// Builds crates/node into npm/ferrosocket.node with @napi-rs/cli (from source,
// offline; cargo skips unchanged work). `--if-missing` (the install script) only
// builds when no addon is there yet.

const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const pkgDir = path.join(__dirname, '..');
const addon = path.join(pkgDir, 'ferrosocket.node');

if (process.argv.includes('--if-missing') && fs.existsSync(addon)) process.exit(0);

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

const args = [
  cli,
  'build',
  '--release',
  '--manifest-path',
  manifest,
  '--package-json-path',
  path.join(pkgDir, 'package.json'),
  '--output-dir',
  pkgDir,
  '--dts',
  'lib/binding.d.ts'
];
const res = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: pkgDir });
process.exit(res.status === null ? 1 : res.status);
