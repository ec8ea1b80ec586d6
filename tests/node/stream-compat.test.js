'use strict';

// createWebSocketStream in the cases ws's stream handles: writes while CONNECTING are
// buffered and sent on open, a write while CLOSING errors, errors raised while
// destroying reach the stream, readable and writable backpressure, the end/close
// sequences. Each scenario runs against ws and ferrosocket; the logs must be equal.

const test = require('node:test');
const assert = require('node:assert');
const net = require('net');

const { ws, ferrosocket, frame, listen, url, once, closeServer, within } = require('./helpers');

/** Records a duplex's events (with error messages) into `log`. */
function watch(duplex, log) {
  for (const e of ['finish', 'end', 'close']) duplex.on(e, () => log.push(e));
  duplex.on('error', (err) => log.push(['error', err.message]));
}

const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));

const SCENARIOS = {
  async writesWhileConnecting(lib, wss, log, peer) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c);
    watch(d, log);
    d.resume();
    log.push(['state', c.readyState]);
    d.write('a', (e) => log.push(['cb a', e ? e.message : null]));
    d.write('b', (e) => log.push(['cb b', e ? e.message : null]));
    await within(new Promise((r) => {
      const t = setInterval(() => peer.length >= 2 && (clearInterval(t), r()), 5);
    }), 3000, 'peer messages');
    d.end();
    await within(once(d, 'close'), 3000, 'close');
  },
  async endWhileConnecting(lib, wss, log) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c);
    watch(d, log);
    d.resume();
    d.end('last');
    await within(once(d, 'close'), 3000, 'close');
    log.push(['ws state', c.readyState]);
  },
  async writeWhileClosing(lib, wss, log) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c);
    watch(d, log);
    await once(c, 'open');
    c.close();
    d.write('late', (e) => log.push(['cb', e ? e.message : null]));
    await within(once(d, 'close'), 3000, 'close');
  },
  async destroyWhileConnecting(lib, wss, log) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c);
    watch(d, log);
    d.destroy();
    await within(once(d, 'close'), 3000, 'close');
    log.push(['ws state', c.readyState]);
  },
  async destroyWithErrorWhileOpen(lib, wss, log) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c);
    watch(d, log);
    await once(c, 'open');
    d.destroy(new Error('mine'));
    await within(once(d, 'close'), 3000, 'close');
    log.push(['ws state', c.readyState]);
  },
  async peerProtocolError(lib, wss, log, peer, sockets) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c);
    watch(d, log);
    d.resume();
    await once(c, 'open');
    await settle(20);
    sockets[0]._socket.write(frame({ opcode: 3, mask: false }));
    await within(once(d, 'close'), 3000, 'close');
  },
  async peerCloses(lib, wss, log, peer, sockets) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c, { encoding: 'utf8' });
    watch(d, log);
    d.on('data', (x) => log.push(['data', x]));
    d.on('end', () => d.end());
    await once(c, 'open');
    await settle(20);
    sockets[0].send('bye');
    sockets[0].close(4000);
    await within(once(d, 'close'), 3000, 'close');
  },
  async readableBackpressure(lib, wss, log, peer, sockets) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c, { readableHighWaterMark: 8 });
    watch(d, log);
    await once(c, 'open');
    await settle(20);
    for (let i = 0; i < 20; i++) sockets[0].send(Buffer.alloc(4, i));
    await settle(100);
    log.push(['paused while unread', c.isPaused, d.readableLength >= 8]);
    let got = 0;
    d.on('data', (x) => (got += x.length));
    await within(new Promise((r) => {
      const t = setInterval(() => got === 80 && (clearInterval(t), r()), 5);
    }), 3000, 'all data');
    log.push(['read all', got, c.isPaused]);
    d.destroy();
    await within(once(d, 'close'), 3000, 'close');
  },
  async writableBackpressure(lib, wss, log, peer) {
    const c = new lib.WebSocket(url(wss));
    const d = lib.createWebSocketStream(c, { writableHighWaterMark: 1024 });
    watch(d, log);
    d.resume();
    await once(c, 'open');
    const returns = [];
    for (let i = 0; i < 6; i++) returns.push(d.write(Buffer.alloc(512, i)));
    log.push(['write returns', returns]);
    await within(once(d, 'drain'), 3000, 'drain');
    log.push('drain');
    await within(new Promise((r) => {
      const t = setInterval(() => peer.length === 6 && (clearInterval(t), r()), 5);
    }), 3000, 'peer messages');
    d.end();
    await within(once(d, 'close'), 3000, 'close');
  },
  async handshakeFailure(lib, wss, log) {
    const conns = [];
    const srv = net.createServer((s) => conns.push(s) && s.end('HTTP/1.1 403 Forbidden\r\n\r\n'));
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const c = new lib.WebSocket(`ws://127.0.0.1:${srv.address().port}`);
    const d = lib.createWebSocketStream(c);
    watch(d, log);
    d.write('x', (e) => log.push(['cb', e ? e.message : null]));
    await within(once(d, 'close'), 3000, 'close');
    for (const s of conns) s.destroy();
    await new Promise((r) => srv.close(r));
  }
};

async function observe(lib, name) {
  const wss = await listen(lib);
  const peer = [];
  const sockets = [];
  wss.on('connection', (s) => {
    sockets.push(s);
    s.on('message', (m) => peer.push(m.toString()));
    s.on('error', () => {});
  });
  const log = [];
  await SCENARIOS[name](lib, wss, log, peer, sockets);
  await settle(30);
  await closeServer(wss);
  return [log, peer.map((p) => p.length)];
}

for (const name of Object.keys(SCENARIOS)) {
  test(`createWebSocketStream ${name}: as ws`, async () => {
    const a = await observe(ws, name);
    const b = await observe(ferrosocket, name);
    assert.deepStrictEqual(b, a);
  });
}
