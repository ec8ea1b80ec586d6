'use strict';
// The npm package as a user gets it: `npm pack` of `ferrosocket` and of this platform's
// `ferrosocket-<platform>` (npm/scripts/pack.js), `npm install` of both tarballs into a new
// project with no Rust toolchain on PATH and no network, then require, import, TypeScript and
// a ws-style echo server + client, all run from that project.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { npmDir, tsc, envWithoutRust, run, tempDir, installTarballs } = require('./helpers');

const env = envWithoutRust();
let tmp;
let project;
let packed;

before(() => {
  tmp = tempDir('ferrosocket-install-');
  const out = run(process.execPath, [path.join(npmDir, 'scripts', 'pack.js'), '--out', path.join(tmp, 'tarballs')], {
    cwd: npmDir
  });
  packed = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
  project = path.join(tmp, 'project');
  const ms = installTarballs(project, packed.map((p) => p.file), env);
  const sizes = packed.map((p) => `${p.name} ${p.size} B`).join(', ');
  console.log(`tarballs: ${sizes}; npm install: ${Math.round(ms)} ms`);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const node = (args, opts = {}) => run(process.execPath, args, { cwd: project, env, timeout: 30_000, ...opts });

// An echo server and a client of the installed package, ws-style, with permessage-deflate.
const echo = (load) => `${load}
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: true });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
wss.on('listening', () => {
  const client = new WebSocket('ws://127.0.0.1:' + wss.address().port, { perMessageDeflate: true });
  const got = [];
  client.on('open', () => { client.send('hello '.repeat(300)); client.send(Buffer.from([1, 2, 3])); });
  client.on('message', (data, isBinary) => {
    got.push(isBinary ? [...data] : data.toString().length);
    if (got.length === 2) client.close(1000, 'done');
  });
  client.on('close', (code, reason) => {
    wss.close();
    const addon = Object.keys(require.cache).find((f) => f.endsWith('.node'));
    console.log(JSON.stringify({ got, code, reason: reason.toString(), extensions: client.extensions, addon }));
  });
});
`;

function checkEcho(stdout) {
  const result = JSON.parse(stdout);
  assert.deepEqual(result.got, [1800, [1, 2, 3]]);
  assert.equal(result.code, 1000);
  assert.equal(result.reason, 'done');
  assert.match(result.extensions, /permessage-deflate/);
  return result;
}

test('the tarballs carry only what the package needs, and install without Rust', () => {
  const cargo = spawnSync('cargo', ['--version'], { env, timeout: 5_000 });
  assert.equal(cargo.error && cargo.error.code, 'ENOENT', 'cargo is not reachable');
  const installed = path.join(project, 'node_modules', 'ferrosocket');
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
  assert.equal(manifest.scripts, undefined, 'no install or build script');
  assert.deepEqual(manifest.optionalDependencies, { [packed[1].name]: manifest.version }, 'the platform package packed with it');
  const files = fs.readdirSync(installed, { recursive: true }).sort();
  assert.ok(!files.some((f) => f.endsWith('.node') || f.startsWith('scripts') || f.endsWith('.d.ts.map')), files.join());
  for (const f of ['index.js', 'wrapper.mjs', 'index.d.ts', 'README.md', 'LICENSE', path.join('lib', 'binding.js')]) {
    assert.ok(files.includes(f), `${f} is shipped`);
  }
  const platformFiles = fs.readdirSync(path.join(project, 'node_modules', packed[1].name)).sort();
  assert.deepEqual(platformFiles, ['LICENSE', 'README.md', `ferrosocket.${packed[1].name.replace(/^ferrosocket-/, '')}.node`, 'package.json']);
});

test('require("ferrosocket"): ws-style echo server and client, addon from the platform package', () => {
  const res = node(['-e', echo("const WebSocket = require('ferrosocket'); const { WebSocketServer } = WebSocket;")]);
  const { addon } = checkEcho(res.stdout);
  assert.ok(addon.startsWith(path.join(project, 'node_modules', packed[1].name) + path.sep), addon);
});

test('import … from "ferrosocket": the same from ESM', () => {
  const file = path.join(project, 'echo.mjs');
  const src = echo("import WebSocket, { WebSocketServer } from 'ferrosocket';\nimport { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);");
  fs.writeFileSync(file, src);
  checkEcho(node([file]).stdout);
});

test('TypeScript: the installed declarations type-check CommonJS and ESM usage', () => {
  const types = path.join(npmDir, 'node_modules', '@types');
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
        esModuleInterop: true, skipLibCheck: false, types: ['node'], typeRoots: [types]
      },
      files: ['usage.ts', 'usage.mts']
    })
  );
  fs.writeFileSync(
    path.join(project, 'usage.ts'),
    `import WebSocket = require('ferrosocket');
const wss = new WebSocket.WebSocketServer({ port: 0, perMessageDeflate: true });
wss.on('connection', (ws: WebSocket, req) => ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => ws.send(data, { binary: isBinary })));
const rws = new WebSocket.ReconnectingWebSocket('ws://127.0.0.1:1');
void rws;
`
  );
  fs.writeFileSync(
    path.join(project, 'usage.mts'),
    `import WebSocket, { WebSocketServer, createWebSocketStream } from 'ferrosocket';
const wss = new WebSocketServer({ noServer: true });
const ws: WebSocket = new WebSocket('ws://127.0.0.1:1', { handshakeTimeout: 1000 });
const stream = createWebSocketStream(ws);
const state: number = ws.readyState;
void wss; void stream; void state;
// @ts-expect-error: a wrong option type must be rejected, or this check proves nothing
new WebSocketServer({ port: 'eighty' });
`
  );
  run(process.execPath, [tsc, '-p', project], { cwd: project, env });
});

test('without its platform package, require names the platform and what to do', () => {
  const dir = path.join(project, 'node_modules', packed[1].name);
  fs.renameSync(dir, dir + '.away');
  try {
    const res = node(['-e', "require('ferrosocket')"], { expectFail: true });
    const host = require(path.join(project, 'node_modules', 'ferrosocket', 'lib', 'platform.js')).describeHost();
    assert.match(res.stderr, /ERR_FERROSOCKET_NO_ADDON|no native addon/);
    assert.ok(res.stderr.includes(`${host.platform}/${host.arch}${host.libc ? ` (${host.libc})` : ''}`), res.stderr);
    assert.ok(res.stderr.includes(`npm install ${packed[1].name}@`), res.stderr);
    assert.ok(res.stderr.includes('--omit=optional'), res.stderr);
    assert.ok(res.stderr.includes('npm run build'), res.stderr);

    // A platform without a prebuilt addon is told so, and which platforms have one.
    const manifestFile = path.join(project, 'node_modules', 'ferrosocket', 'package.json');
    const manifest = fs.readFileSync(manifestFile, 'utf8');
    fs.writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(manifest), optionalDependencies: { 'ferrosocket-elsewhere-x64': '0.1.0' } }));
    try {
      const other = node(['-e', "require('ferrosocket')"], { expectFail: true });
      assert.ok(other.stderr.includes(`No prebuilt addon exists for ${host.name} (there are: elsewhere-x64)`), other.stderr);
      assert.ok(other.stderr.includes('npm run build'), other.stderr);
    } finally {
      fs.writeFileSync(manifestFile, manifest);
    }
  } finally {
    fs.renameSync(dir + '.away', dir);
  }
});
