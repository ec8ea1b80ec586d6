'use strict';

// Makes the publishable tarballs, napi-rs style: `ferrosocket` (the JS, no addon) and one
// `ferrosocket-<platform>` per prebuilt addon. Each is packed from a staging copy, so the
// checkout is not touched: the main manifest gains the platform packages packed in the same
// run as optionalDependencies (napi's `prepublish` adds them in the same way, so a checkout's
// `npm install` never asks the registry for them) and loses scripts and devDependencies.
//
//   node scripts/pack.js [--out DIR] [--platform NAME]...   (default: this machine's platform;
//                                                            a release names every one it built)
//
// An addon is taken from npm/npm/<platform>/ (where `napi artifacts` puts CI builds) or
// from npm/ (where `npm run build` puts this machine's). Prints one JSON line per tarball.

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseTriple } = require('@napi-rs/cli');
const { describeHost } = require('../lib/platform');

const pkgDir = path.join(__dirname, '..');
const repoDir = path.join(pkgDir, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const binaryName = manifest.napi.binaryName;

function parseArgs(argv) {
  const opts = { out: process.cwd(), platforms: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') opts.out = path.resolve(argv[++i]);
    else if (argv[i] === '--platform') opts.platforms.push(argv[++i]);
    else throw new Error(`pack.js: unknown argument ${argv[i]}`);
  }
  if (opts.platforms.length === 0) opts.platforms.push(describeHost().name);
  return opts;
}

function npm(args, cwd) {
  const res = spawnSync('npm', args, { cwd, encoding: 'utf8', shell: process.platform === 'win32' });
  if (res.status !== 0) throw new Error(`npm ${args.join(' ')} failed in ${cwd}:\n${res.stderr}`);
  return res.stdout;
}

function packDir(dir, out) {
  const [info] = JSON.parse(npm(['pack', '--json', '--pack-destination', out], dir));
  return { name: info.name, file: path.join(out, info.filename), size: info.size, files: info.entryCount };
}

// The platform packages `napi create-npm-dirs` wrote for napi.targets, checked against them.
function platformPackages() {
  return manifest.napi.targets.map((triple) => {
    const platform = parseTriple(triple).platformArchABI;
    const dir = path.join(pkgDir, 'npm', platform);
    const name = `${manifest.name}-${platform}`;
    let sub;
    try {
      sub = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    } catch {
      throw new Error(`pack.js: ${dir}/package.json is missing; run \`npx napi create-npm-dirs\` in npm/`);
    }
    if (sub.name !== name || sub.version !== manifest.version) {
      throw new Error(`pack.js: ${dir}/package.json is ${sub.name}@${sub.version}, expected ${name}@${manifest.version}`);
    }
    return { platform, dir, name };
  });
}

function stageMain(stage, platforms) {
  const listing = JSON.parse(npm(['pack', '--dry-run', '--json', '--ignore-scripts'], pkgDir))[0];
  for (const { path: rel } of listing.files) {
    fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
    fs.copyFileSync(path.join(pkgDir, rel), path.join(stage, rel));
  }
  const published = { ...manifest };
  delete published.scripts;
  delete published.devDependencies;
  published.optionalDependencies = Object.fromEntries(platforms.map((p) => [p.name, manifest.version]));
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(published, null, 2) + '\n');
  fs.copyFileSync(path.join(repoDir, 'LICENSE'), path.join(stage, 'LICENSE'));
}

function stagePlatform(stage, { platform, dir }) {
  const addon = `${binaryName}.${platform}.node`;
  const source = [path.join(dir, addon), path.join(pkgDir, addon)].find((f) => fs.existsSync(f));
  if (!source) throw new Error(`pack.js: no ${addon} in ${dir} or ${pkgDir}; build it first (npm run build)`);
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(stage, f));
  fs.copyFileSync(source, path.join(stage, addon));
  fs.copyFileSync(path.join(repoDir, 'LICENSE'), path.join(stage, 'LICENSE'));
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const platforms = platformPackages();
  fs.mkdirSync(opts.out, { recursive: true });
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'ferrosocket-pack-'));
  try {
    const selected = opts.platforms.map((name) => {
      const target = platforms.find((p) => p.platform === name);
      if (!target) throw new Error(`pack.js: ${name} is not in napi.targets of npm/package.json`);
      return target;
    });
    const results = [];
    for (const target of selected) {
      const stage = path.join(staging, target.platform);
      fs.mkdirSync(stage);
      stagePlatform(stage, target);
      results.push(packDir(stage, opts.out));
    }
    const mainStage = path.join(staging, 'main');
    fs.mkdirSync(mainStage);
    stageMain(mainStage, selected);
    results.unshift(packDir(mainStage, opts.out));
    for (const r of results) console.log(JSON.stringify(r));
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
