'use strict';

// The client on the native transport: after the upgrade Rust takes the socket over.
// Each scenario runs with ws's client and with ferrosocket's (transport: 'native')
// against the same kind of server (ws's), and the logs must match.

const test = require('node:test');
const assert = require('node:assert');
const http = require('http');

const h = require('./helpers');

function wsServer(options = {}) {
  return new Promise((resolve) => {
    const wss = new h.ws.WebSocketServer({ host: '127.0.0.1', port: 0, ...options }, () => resolve(wss));
  });
}

function connect(lib, url, protocols, options = {}) {
  const o = lib === h.ferrosocket ? { transport: 'native', ...options } : options;
  return new lib.WebSocket(url, protocols, o);
}

async function same(scenario, ms = 15000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

test('a native client: echo of every length form, ping/pong, close handshake', async () => {
  await same(async (lib) => {
    const log = [];
    // The server's events are logged apart: which end sees the close first depends on
    // who owns the client's socket (both ends are in this process).
    const serverLog = [];
    const wss = await wsServer();
    wss.on('connection', (ws) => {
      ws.on('message', (d, b) => ws.send(d, { binary: b }));
      ws.on('close', (code, reason) => serverLog.push(['server close', code, String(reason)]));
    });
    const c = connect(lib, h.url(wss, '/x'), ['chat']);
    if (lib === h.ferrosocket) c.once('open', () => log.push(['native', c.constructor.name]));
    c.on('upgrade', (res) => log.push(['upgrade', res.statusCode]));
    await h.once(c, 'open');
    log.push(['open', c.readyState, c.protocol, c.extensions, c.url.replace(/:\d+/, ':P')]);
    const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
    const got = [];
    c.on('message', (d, b) => got.push([b, d.length, d[d.length - 1]]));
    c.on('pong', (d) => log.push(['pong', String(d)]));
    for (const n of sizes) {
      c.send(Buffer.alloc(n, n & 0xff));
      c.send('é'.repeat(n >> 1));
    }
    c.ping('p');
    await h.waitFor(() => got.length === sizes.length * 2, 10000, 'echoes');
    log.push(['got', got]);
    c.close(4000, 'bye');
    const [code, reason] = await h.once(c, 'close');
    log.push(['close', code, String(reason), c.readyState]);
    await h.waitFor(() => serverLog.length === 1, 5000, 'server close');
    await new Promise((r) => wss.close(r));
    // ws's client is not native: drop the marker before comparing.
    return [...log.filter((e) => e[0] !== 'native'), ...serverLog];
  });
});

test('a native client is a NativeWebSocket and keeps what was set before the upgrade', async () => {
  const wss = await wsServer();
  wss.on('connection', (ws) => ws.send(Buffer.from([1, 2, 3])));
  const c = connect(h.ferrosocket, h.url(wss));
  c.binaryType = 'arraybuffer';
  const events = [];
  c.onopen = () => events.push('onopen');
  c.addEventListener('message', (ev) => events.push(['message', ev.data instanceof ArrayBuffer]));
  await h.once(c, 'message');
  assert.strictEqual(c.constructor.name, 'NativeWebSocket');
  assert.ok(c instanceof h.ferrosocket.WebSocket);
  assert.deepStrictEqual(events, ['onopen', ['message', true]]);
  assert.strictEqual(c._socket.remoteAddress, '127.0.0.1');
  c.close();
  const closeEvent = await new Promise((r) => c.addEventListener('close', r));
  assert.strictEqual(closeEvent.wasClean, true);
  await new Promise((r) => wss.close(r));
});

test('the server closes, the server goes away, the server sends garbage: as ws', async () => {
  await same(async (lib) => {
    const log = [];
    // 1: a clean close with a code and reason from the server.
    const wss = await wsServer();
    wss.on('connection', (ws) => ws.close(1001, 'going away'));
    const a = connect(lib, h.url(wss));
    log.push(['closed by server', ...(await h.once(a, 'close')).map(String)]);
    // 2: the server's socket is destroyed without a close frame.
    wss.removeAllListeners('connection');
    wss.on('connection', (ws) => setTimeout(() => ws._socket.destroy(), 20));
    const b = connect(lib, h.url(wss));
    log.push(['destroyed by server', ...(await h.once(b, 'close')).map(String)]);
    await new Promise((r) => wss.close(r));
    // 3: a frame with reserved bits: 1002 and an error, as ws.
    const raw = await h.rawServer(Buffer.from([0xf1, 0x00]));
    const c = connect(lib, `ws://127.0.0.1:${raw.port}`);
    c.on('error', (err) => log.push(['error', err.code, err.message]));
    log.push(['protocol error', ...(await h.once(c, 'close')).map(String)]);
    raw.close();
    return log;
  });
});

test('clients that cannot be native stay on Node sockets (TLS, Unix, generateMask)', async () => {
  const wss = await wsServer();
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  const masked = connect(h.ferrosocket, h.url(wss), undefined, {
    transport: 'auto',
    generateMask: (mask) => mask.fill(0)
  });
  await h.once(masked, 'open');
  assert.notStrictEqual(masked.constructor.name, 'NativeWebSocket');
  masked.send('x');
  assert.strictEqual(String((await h.once(masked, 'message'))[0]), 'x');
  masked.close();
  assert.throws(
    () => connect(h.ferrosocket, h.url(wss), undefined, { generateMask: () => {} }),
    /"generateMask" option is not supported with transport: 'native'/
  );
  // A redirect is followed, and the final socket taken over.
  const redirect = http.createServer((req, res) => {
    res.writeHead(302, { Location: h.url(wss) });
    res.end();
  });
  await new Promise((r) => redirect.listen(0, '127.0.0.1', r));
  const r = connect(h.ferrosocket, `ws://127.0.0.1:${redirect.address().port}`, undefined, {
    followRedirects: true
  });
  await h.once(r, 'open');
  assert.strictEqual(r.constructor.name, 'NativeWebSocket');
  r.close();
  await h.once(r, 'close');
  await new Promise((res) => redirect.close(res));
  await new Promise((res) => wss.close(res));
});

test('a native client counts its bytes from the socket start, as the server does', async () => {
  await same(async (lib) => {
    const wss = await wsServer();
    const accepted = h.once(wss, 'connection');
    const client = connect(lib, `ws://127.0.0.1:${wss.address().port}`);
    await h.once(client, 'open');
    const [sock] = await accepted;
    const got = h.once(sock, 'message');
    client.send(Buffer.alloc(1000, 1));
    await got;
    const echoed = h.once(client, 'message');
    sock.send('back');
    await echoed;
    // The request and the 101 are counted on both ends, then the frames.
    const counts = [
      client._socket.bytesWritten === sock._socket.bytesRead,
      client._socket.bytesRead === sock._socket.bytesWritten,
      client._socket.bytesWritten > 1000
    ];
    client.close();
    await h.once(client, 'close');
    await new Promise((r) => wss.close(r));
    return counts;
  });
});
