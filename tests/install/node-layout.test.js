'use strict';
// The napi-rs layout of the npm package cannot drift from its one source, `napi.targets` in
// npm/package.json: the loader names every target's platform as napi-rs does, and the
// committed platform packages (npm/npm/<platform>/) are what `napi create-npm-dirs` writes.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { npmDir, run, tempDir } = require('./helpers');

const manifest = JSON.parse(fs.readFileSync(path.join(npmDir, 'package.json'), 'utf8'));
const napiCli = path.join(npmDir, 'node_modules', '@napi-rs', 'cli');
const { parseTriple } = require(napiCli);
const { describeHost } = require(path.join(npmDir, 'lib', 'platform.js'));

test('the loader names each napi target the way napi-rs does', () => {
  for (const triple of manifest.napi.targets) {
    const t = parseTriple(triple);
    const libc = t.abi && t.abi.startsWith('musl') ? 'musl' : 'glibc';
    assert.equal(describeHost({ platform: t.platform, arch: t.arch, libc }).name, t.platformArchABI, triple);
  }
  assert.match(describeHost().name, /^[a-z0-9]+-[a-z0-9]+(-[a-z]+)?$/);
});

const listTree = (dir) =>
  fs.readdirSync(dir, { recursive: true })
    .filter((f) => fs.statSync(path.join(dir, f)).isFile() && !f.endsWith('.node'))
    .sort()
    .map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]);

test('npm/npm/ holds exactly the platform packages napi create-npm-dirs makes', () => {
  const tmp = tempDir('ferrosocket-npm-dirs-');
  try {
    fs.copyFileSync(path.join(npmDir, 'package.json'), path.join(tmp, 'package.json'));
    run(process.execPath, [path.join(napiCli, 'dist', 'cli.js'), 'create-npm-dirs', '--cwd', tmp], { cwd: tmp });
    assert.deepEqual(listTree(path.join(npmDir, 'npm')), listTree(path.join(tmp, 'npm')),
      'regenerate with `npx napi create-npm-dirs` in npm/');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
