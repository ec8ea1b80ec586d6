'use strict';
// Shared by the install tests: the repo's paths, a PATH without the Rust toolchain, bounded
// child processes, and an offline `npm install` of local tarballs into a fresh project.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const npmDir = path.join(root, 'npm');
const tsc = path.join(npmDir, 'node_modules', 'typescript', 'bin', 'tsc');

// Every PATH entry that holds cargo or rustc is dropped, and so are the toolchain's variables:
// what gets installed must work for a user who never installed Rust.
function envWithoutRust() {
  const env = { ...process.env };
  const exe = process.platform === 'win32' ? '.exe' : '';
  env.PATH = (env.PATH || '')
    .split(path.delimiter)
    .filter((dir) => dir && !['cargo', 'rustc'].some((t) => fs.existsSync(path.join(dir, t + exe))))
    .join(path.delimiter);
  for (const k of Object.keys(env)) if (/^(CARGO|RUSTUP|RUSTC)/.test(k)) delete env[k];
  return env;
}

// Runs a command to its end or kills it after `timeout` ms; throws with its output on failure.
function run(cmd, args, { cwd, env, timeout = 60_000, expectFail = false } = {}) {
  const res = spawnSync(cmd, args, { cwd, env, timeout, encoding: 'utf8', killSignal: 'SIGKILL' });
  const out = `${cmd} ${args.join(' ')} (in ${cwd}):\n${res.stdout}\n${res.stderr}`;
  if (res.error) throw new Error(`${res.error.message}: ${out}`);
  if (!expectFail && res.status !== 0) throw new Error(`exit ${res.status}: ${out}`);
  if (expectFail && res.status === 0) throw new Error(`expected a failure: ${out}`);
  return res;
}

function tempDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// A new project with the tarballs installed: nothing from the network (`--offline`, an empty
// cache of its own), and install scripts allowed, so one that needed a build would fail here.
function installTarballs(project, tarballs, env) {
  fs.mkdirSync(project, { recursive: true });
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'install-test', private: true }));
  const started = process.hrtime.bigint();
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--cache', path.join(project, '.npm-cache'), ...tarballs], {
    cwd: project,
    env,
    timeout: 120_000
  });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

module.exports = { root, npmDir, tsc, envWithoutRust, run, tempDir, installTarballs };
