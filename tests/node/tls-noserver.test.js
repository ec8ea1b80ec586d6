'use strict';

// The ws README setups: wss:// through Node's https server (self-signed test
// certificate), and two WebSocket servers sharing one http server via
// noServer + handleUpgrade. Also handleUpgrade on a plain Duplex.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');

const h = require('./helpers');

const cert = fs.readFileSync(path.join(__dirname, 'fixtures', 'cert.pem'));
const key = fs.readFileSync(path.join(__dirname, 'fixtures', 'key.pem'));

for (const [name, ServerLib, ClientLib] of [
  ['ferrosocket server, ws client', h.ferrosocket, h.ws],
  ['ws server, ferrosocket client', h.ws, h.ferrosocket],
  ['ferrosocket both sides', h.ferrosocket, h.ferrosocket]
]) {
  test(`wss:// with a self-signed certificate (${name})`, async () => {
    const server = https.createServer({ cert, key });
    const wss = new ServerLib.WebSocketServer({ server, perMessageDeflate: true });
    wss.on('connection', (sock, req) => {
      sock.send(`secure=${req.socket.encrypted === true}`);
      sock.on('message', (d) => sock.send(d));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();

    // Refused without the CA…
    const bad = new ClientLib(`wss://127.0.0.1:${port}`);
    const [err] = await h.within(h.once(bad, 'error'), 5000, 'tls error');
    assert.match(err.code, /SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/);

    // …accepted with it.
    const client = new ClientLib(`wss://localhost:${port}`, { ca: cert });
    const msgs = [];
    const done = new Promise((resolve) =>
      client.on('message', (d) => {
        msgs.push(d.toString());
        if (msgs.length === 2) resolve();
      })
    );
    client.on('open', () => client.send('x'.repeat(5000)));
    await h.within(done, 5000, 'wss echo');
    assert.deepStrictEqual(msgs, ['secure=true', 'x'.repeat(5000)]);
    client.close();
    await h.once(client, 'close');
    await new Promise((r) => wss.close(r));
    await new Promise((r) => server.close(r));
  });

  test(`noServer + handleUpgrade: two servers on one http server (${name})`, async () => {
    const server = http.createServer();
    const wss1 = new ServerLib.WebSocketServer({ noServer: true });
    const wss2 = new ServerLib.WebSocketServer({ noServer: true });
    wss1.on('connection', (sock) => sock.send('one'));
    wss2.on('connection', (sock) => sock.send('two'));
    server.on('upgrade', (request, socket, head) => {
      const { pathname } = new URL(request.url, 'ws://base.url');
      if (pathname === '/foo') {
        wss1.handleUpgrade(request, socket, head, (ws) => wss1.emit('connection', ws, request));
      } else if (pathname === '/bar') {
        wss2.handleUpgrade(request, socket, head, (ws) => wss2.emit('connection', ws, request));
      } else {
        socket.destroy();
      }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    const got = [];
    for (const p of ['/foo', '/bar']) {
      const c = new ClientLib(`ws://127.0.0.1:${port}${p}`);
      const [data] = await h.within(h.once(c, 'message'), 3000, 'message');
      got.push(data.toString());
      c.close();
      await h.once(c, 'close');
    }
    const c = new ClientLib(`ws://127.0.0.1:${port}/nope`);
    c.on('error', () => {});
    await h.once(c, 'close');
    assert.deepStrictEqual(got, ['one', 'two']);
    assert.strictEqual(wss1.clients.size + wss2.clients.size, 0);
    await new Promise((r) => wss1.close(r));
    await new Promise((r) => wss2.close(r));
    await new Promise((r) => server.close(r));
  });
}

test('ws+unix: URL (IPC) with a ferrosocket client and server', async () => {
  const sock = path.join(require('os').tmpdir(), `ferrosocket-${process.pid}.sock`);
  try {
    fs.unlinkSync(sock);
  } catch {}
  const server = http.createServer();
  const wss = new h.ferrosocket.WebSocketServer({ server });
  wss.on('connection', (s, req) => s.send(req.url));
  await new Promise((r) => server.listen(sock, r));
  const c = new h.ferrosocket(`ws+unix:${sock}:/path?q=1`);
  const [data] = await h.within(h.once(c, 'message'), 3000, 'ipc message');
  assert.strictEqual(data.toString(), '/path?q=1');
  c.close();
  await h.once(c, 'close');
  await new Promise((r) => wss.close(r));
  await new Promise((r) => server.close(r));
});

test('followRedirects: same as ws (redirect event, credentials across hosts, maxRedirects)', async () => {
  const net = require('net');
  const [expected, actual] = await h.both(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    wss.on('connection', (s, req) => {
      log.push(['upgrade at', req.url, req.headers.authorization || null]);
      s.close();
    });
    const target = `ws://127.0.0.1:${wss.address().port}/end`;
    const redirector = net.createServer((s) => {
      s.on('error', () => {});
      s.once('data', () => s.end(`HTTP/1.1 302 Found\r\nLocation: ${target}\r\nContent-Length: 0\r\n\r\n`));
    });
    await new Promise((r) => redirector.listen(0, '127.0.0.1', r));
    const from = `ws://user:pass@127.0.0.1:${redirector.address().port}/start`;

    const a = new lib(from, { followRedirects: true });
    await h.within(h.once(a, 'close'), 3000, 'close a');
    const b = new lib(from, { followRedirects: true });
    b.on('redirect', (url, req) => log.push(['redirect', url.replace(/:\d+/, ':P'), typeof req.setHeader]));
    await h.within(h.once(b, 'close'), 3000, 'close b');
    const c = new lib(from, { maxRedirects: 0, followRedirects: true });
    c.on('error', (err) => log.push(['error', err.message]));
    await h.within(h.once(c, 'close'), 3000, 'close c');
    const d = new lib(from);
    d.on('error', (err) => log.push(['error d', err.message]));
    await h.within(h.once(d, 'close'), 3000, 'close d');
    await h.closeServer(wss);
    await new Promise((r) => redirector.close(r));
    return log;
  });
  assert.deepStrictEqual(actual, expected);
  assert.deepStrictEqual(actual[0], ['upgrade at', '/end', null]);
});

test('handshakeTimeout aborts with the ws message', async () => {
  const net = require('net');
  const sockets = new Set();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const c = new h.ferrosocket(`ws://127.0.0.1:${server.address().port}`, { handshakeTimeout: 100 });
  const closed = h.once(c, 'close');
  const [err] = await h.within(h.once(c, 'error'), 3000, 'timeout');
  assert.strictEqual(err.message, 'Opening handshake has timed out');
  assert.deepStrictEqual((await closed)[0], 1006);
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});
