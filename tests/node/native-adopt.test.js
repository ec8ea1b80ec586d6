'use strict';

// The native transport in the `server` and `noServer` modes: Node's HTTP server
// parses the upgrade, then Rust takes the plain TCP socket over. Each scenario runs on
// ws and on ferrosocket (transport: 'native') and the logs must match.

const test = require('node:test');
const assert = require('node:assert');
const http = require('http');
const https = require('https');
const fs = require('fs');
const path = require('path');

const h = require('./helpers');

const NATIVE = { transport: 'native' };
const opts = (lib, o = {}) => (lib === h.ferrosocket ? { ...NATIVE, ...o } : o);

async function same(scenario, ms = 15000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

function httpServer() {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => res.end('plain'));
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const closeHttp = (server) => new Promise((resolve) => server.close(() => resolve()));

function client(port, p = '/', protocols) {
  const c = new h.ws.WebSocket(`ws://127.0.0.1:${port}${p}`, protocols);
  c.on('error', () => {});
  return c;
}

const { waitFor } = h;

test('server mode: the socket is taken over after the 101; echo, subprotocol, close codes', async () => {
  const log = await same(async (lib) => {
    const log = [];
    const server = await httpServer();
    const wss = new lib.WebSocketServer(opts(lib, { server, path: '/ws' }));
    wss.on('connection', (ws, req) => {
      log.push(['connection', req.url, ws.protocol, req.socket.remoteAddress, ws._socket.remoteAddress]);
      ws.on('message', (d, b) => ws.send(d, { binary: b }));
      ws.on('close', (code, reason) => log.push(['server close', code, String(reason)]));
    });
    const port = server.address().port;
    const c = client(port, '/ws', ['a', 'b']);
    await h.once(c, 'open');
    const got = [];
    c.on('message', (d, b) => got.push([b, d.length]));
    for (const n of [0, 125, 65536, 1 << 20]) {
      c.send(Buffer.alloc(n, 1));
      c.send('x'.repeat(n));
    }
    await waitFor(() => got.length === 8, 10000, 'echoes');
    log.push(['client got', got]);
    // Plain HTTP still reaches the application; another path gets ws's 400.
    const plain = await new Promise((resolve) =>
      http.get(`http://127.0.0.1:${port}/`, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
    );
    log.push(['plain', plain]);
    const other = client(port, '/other');
    log.push(['other path', await new Promise((r) => other.on('unexpected-response', (q, res) => r(res.statusCode)))]);
    c.close(4001, 'done');
    log.push(['client close', ...(await h.once(c, 'close')).map(String)]);
    await new Promise((r) => wss.close(r));
    await closeHttp(server);
    return log;
  });
  assert.deepStrictEqual(log[0], ['connection', '/ws', 'a', '127.0.0.1', '127.0.0.1']);
});

test('noServer mode: handleUpgrade from the application, frames sent with the request', async () => {
  await same(async (lib) => {
    const log = [];
    const server = await httpServer();
    const wss = new lib.WebSocketServer(opts(lib, { noServer: true }));
    server.on('upgrade', (req, socket, head) => {
      log.push(['upgrade', head.length > 0]);
      wss.handleUpgrade(req, socket, head, (ws) => {
        ws.on('message', (d) => log.push(['message', String(d)]));
        ws.on('close', (code) => log.push(['close', code]));
        wss.emit('connection', ws, req);
      });
    });
    const mask = (s) => h.frame({ opcode: 1, payload: Buffer.from(s) });
    // The request, two frames and a close frame in one write: Node's parser hands
    // the frames over as `head`.
    const raw = await new Promise((resolve) => {
      const net = require('net');
      const s = net.connect(server.address().port, '127.0.0.1', () => {
        s.write(
          Buffer.concat([
            Buffer.from(
              'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
                'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
            ),
            mask('one'),
            mask('two'),
            h.frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) })
          ])
        );
      });
      let buf = Buffer.alloc(0);
      s.on('data', (d) => (buf = Buffer.concat([buf, d])));
      s.on('close', () => resolve(buf));
    });
    const i = raw.indexOf('\r\n\r\n');
    log.push(['status', raw.subarray(0, 12).toString(), 'close frame', raw.subarray(i + 4).toString('hex')]);
    await waitFor(() => log.some((e) => e[0] === 'close'), 5000, 'close');
    await new Promise((r) => wss.close(r));
    await closeHttp(server);
    return log;
  });
});

test('async verifyClient: bytes that arrive while the application decides are kept', async () => {
  await same(async (lib) => {
    const log = [];
    const server = await httpServer();
    const wss = new lib.WebSocketServer(
      opts(lib, {
        server,
        verifyClient: (info, done) => setTimeout(() => done(true), 100)
      })
    );
    wss.on('connection', (ws) => {
      ws.on('message', (d) => log.push(['message', String(d)]));
    });
    const port = server.address().port;
    const { socket } = await new Promise((resolve) => {
      const net = require('net');
      const s = net.connect(port, '127.0.0.1', () => {
        s.write(
          'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
        );
        // Frames sent later, while verifyClient runs.
        setTimeout(() => s.write(h.frame({ opcode: 1, payload: Buffer.from('early') })), 30);
        resolve({ socket: s });
      });
      s.on('error', () => {});
    });
    await waitFor(() => log.length === 1, 5000, 'early message');
    socket.destroy();
    await new Promise((r) => wss.close(r));
    await closeHttp(server);
    return log;
  });
});

test('a taken-over socket leaves the event loop idle and the http server closable', async () => {
  const server = await httpServer();
  const wss = new h.ferrosocket.WebSocketServer({ server, ...NATIVE });
  let native = 0;
  wss.on('connection', (ws) => {
    if (ws._socket.constructor.name === 'NativeSocket') native++;
  });
  const clients = [];
  for (let i = 0; i < 20; i++) clients.push(client(server.address().port));
  await Promise.all(clients.map((c) => h.once(c, 'open')));
  assert.strictEqual(native, 20);
  // Node no longer holds the sockets: no stale readiness spins the loop (a busy loop
  // would burn a whole core in this time).
  const before = process.cpuUsage();
  await new Promise((r) => setTimeout(r, 300));
  const used = process.cpuUsage(before);
  assert.ok(used.user + used.system < 150000, `cpu while idle: ${JSON.stringify(used)}`);
  // The http server closes although the WebSockets go on; they still answer.
  await closeHttp(server);
  clients[0].send('still here');
  const [, got] = await Promise.all([
    new Promise((r) => wss.clients.values().next().value.once('message', r)),
    Promise.resolve('still here')
  ]);
  assert.strictEqual(got, 'still here');
  for (const c of clients) c.close();
  await new Promise((r) => wss.close(r));
});

test('TLS sockets stay on the stream transport', async () => {
  const dir = path.join(__dirname, 'fixtures');
  const server = https.createServer({
    key: fs.readFileSync(path.join(dir, 'key.pem')),
    cert: fs.readFileSync(path.join(dir, 'cert.pem'))
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const wss = new h.ferrosocket.WebSocketServer({ server, ...NATIVE });
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  const c = new h.ws.WebSocket(`wss://127.0.0.1:${server.address().port}`, {
    rejectUnauthorized: false
  });
  await h.once(c, 'open');
  const ws = wss.clients.values().next().value;
  assert.notStrictEqual(ws.constructor.name, 'NativeWebSocket');
  c.send('tls');
  assert.strictEqual(String((await h.once(c, 'message'))[0]), 'tls');
  c.close();
  await h.once(c, 'close');
  await new Promise((r) => wss.close(r));
  await closeHttp(server);
});

test('server mode with permessage-deflate: the agreed codec moves with the socket', async () => {
  await same(async (lib) => {
    const log = [];
    const server = await httpServer();
    const wss = new lib.WebSocketServer(opts(lib, { server, perMessageDeflate: { threshold: 0 } }));
    wss.on('connection', (ws) => {
      log.push(['extensions', ws.extensions]);
      ws.on('message', (d, b) => ws.send(d, { binary: b }));
    });
    // ferrosocket's client on the native transport too (it inflates and deflates in Rust).
    const c = new lib.WebSocket(`ws://127.0.0.1:${server.address().port}`, opts(lib));
    await h.once(c, 'open');
    log.push(['client extensions', c.extensions]);
    const got = [];
    c.on('message', (d) => got.push([d.length, d[0], d[d.length - 1]]));
    for (const n of [10, 20000, 3 << 20]) c.send(Buffer.alloc(n, n & 0x7f));
    await h.waitFor(() => got.length === 3, 10000, 'echoes');
    log.push(['got', got]);
    c.close();
    await h.once(c, 'close');
    await new Promise((r) => wss.close(r));
    await closeHttp(server);
    return log;
  });
});
