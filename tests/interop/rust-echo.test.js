'use strict';

// Rust ↔ Node: the core's tokio echo server (crates/core/examples/echo_server.rs) against
// Node clients — `ws` from npm and `ferrosocket` — over real TCP on 127.0.0.1, with and
// without permessage-deflate. The example is built by `cargo test` (scripts/test.sh runs
// that first); this file builds it itself when it is missing.

const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const ws = require(path.join(root, 'npm', 'node_modules', 'ws'));
const ferrosocket = require(path.join(root, 'npm'));

const bin = path.join(root, 'target', 'debug', 'examples', 'echo_server');

let server;
let port;

test.before(async () => {
  if (!fs.existsSync(bin)) {
    execFileSync('cargo', ['build', '-p', 'ferrosocket-core', '--example', 'echo_server'], { cwd: root, stdio: 'inherit' });
  }
  server = spawn(bin, ['--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('echo_server did not start in 10 s')), 10000);
    server.stdout.on('data', (d) => {
      const m = /:(\d+)\s*$/m.exec(d.toString());
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    server.on('exit', (code) => reject(new Error(`echo_server exited with ${code}`)));
  });
});

test.after(() => {
  if (server && server.exitCode === null) server.kill('SIGTERM'); // by PID (the child we started)
});

const MESSAGES = [
  'hello',
  Buffer.alloc(0),
  Buffer.alloc(125, 1),
  Buffer.alloc(126, 2),
  Buffer.alloc(65536, 3),
  'κόσμε 𝄞 '.repeat(5000),
  Buffer.alloc(4 << 20, 4)
];

async function echoRound(lib, perMessageDeflate) {
  const client = new lib.WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate });
  await new Promise((resolve, reject) => {
    client.once('open', resolve);
    client.once('error', reject);
  });
  const got = [];
  client.on('message', (data, isBinary) => got.push([Buffer.from(data), isBinary]));
  for (const m of MESSAGES) client.send(m);
  client.send('frag', { fin: false });
  client.send('mented', { fin: true });
  const deadline = Date.now() + 20000;
  while (got.length < MESSAGES.length + 1) {
    assert.ok(Date.now() < deadline, `only ${got.length} echoes within 20 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  MESSAGES.forEach((m, i) => {
    assert.equal(got[i][1], Buffer.isBuffer(m), `type of message ${i}`);
    assert.ok(got[i][0].equals(Buffer.from(m)), `bytes of message ${i}`);
  });
  assert.equal(got[MESSAGES.length][0].toString(), 'fragmented');
  const extensions = client.extensions;
  client.close(4001, 'done');
  const [code, reason] = await new Promise((resolve) => client.once('close', (c, r) => resolve([c, r.toString()])));
  return { extensions, code, reason };
}

for (const [name, lib] of [['ws', ws], ['ferrosocket', ferrosocket]]) {
  for (const deflate of [false, true]) {
    test(`${name} client ↔ Rust echo server, permessage-deflate ${deflate ? 'on' : 'off'}`, async () => {
      const r = await echoRound(lib, deflate);
      assert.equal(r.extensions, deflate ? 'permessage-deflate' : '');
      assert.deepEqual([r.code, r.reason], [4001, 'done']);
    });
  }
}

test('Rust echo server answers a bad upgrade with 426 and the version it speaks', async () => {
  const reply = await new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n');
    });
    let buf = '';
    s.on('data', (d) => { buf += d; });
    s.on('close', () => resolve(buf));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy());
  });
  assert.match(reply, /^HTTP\/1\.1 426 /);
  assert.match(reply, /Sec-WebSocket-Version: 13\r\n/);
});

test('ws client gets close 1002 from the Rust server for a reserved opcode', async () => {
  const client = new ws.WebSocket(`ws://127.0.0.1:${port}/`);
  await new Promise((resolve) => client.once('open', resolve));
  // Reach under ws's sender: a masked frame with reserved opcode 3.
  client._socket.write(Buffer.from([0x83, 0x80, 1, 2, 3, 4]));
  const [code] = await new Promise((resolve) => client.once('close', (c, r) => resolve([c, r])));
  assert.equal(code, 1002);
});
