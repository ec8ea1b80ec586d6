'use strict';
// ReconnectingWebSocket in Node (npm/lib/reconnecting.js over the core session in the addon)
// against a ferrosocket WebSocketServer on 127.0.0.1:0.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { once } = require('node:events');
const path = require('node:path');

const { WebSocketServer, ReconnectingWebSocket } = require(path.join(__dirname, '..', '..', 'npm'));

/** An echo server; "__drop__" makes it drop the connection without a close frame. */
async function server(options = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === '__drop__') ws.terminate();
      else if (!isBinary && data.toString().startsWith('__close__:')) ws.close(Number(data.toString().slice(10)));
      else ws.send(data, { binary: isBinary });
    });
  });
  const url = `ws://127.0.0.1:${wss.address().port}`;
  return { wss, url, stop: () => { for (const c of wss.clients) c.terminate(); wss.close(); } };
}

/** Resolves with the args of the next `type` event, or rejects after `ms`. */
function next(emitter, type, ms = 3000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { emitter.off(type, on); reject(new Error(`no ${type} in ${ms} ms`)); }, ms);
    function on(...args) { clearTimeout(timer); resolve(args); }
    emitter.once(type, on);
  });
}

const fast = { minDelay: 50, maxDelay: 200, heartbeat: { mode: 'off' } };

test('echo, drop, reconnect; messages queued meanwhile arrive once and in order', async () => {
  const s = await server();
  const ws = new ReconnectingWebSocket(s.url, undefined, { ...fast, minDelay: 300, maxDelay: 400 });
  const received = [];
  ws.on('message', (d) => received.push(d.toString()));
  await next(ws, 'open');
  assert.equal(ws.readyState, ReconnectingWebSocket.OPEN);
  ws.send('hello');
  await next(ws, 'message');
  ws.send('__drop__');
  const [code] = await next(ws, 'close');
  assert.equal(code, 1006);
  assert.equal(ws.state, 'waiting');
  for (const m of ['q1', 'q2', 'q3']) ws.send(m);
  assert.equal(ws.queueLength, 3);
  await next(ws, 'open');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(received, ['hello', 'q1', 'q2', 'q3']);
  assert.equal(ws.queueLength, 0);
  ws.close();
  assert.deepEqual((await next(ws, 'end'))[0], { reason: 'close', code: null });
  s.stop();
});

test('protocol-ping heartbeat: RTT, then timeout and reconnect when pongs stop', async () => {
  const s = await server({ autoPong: false });
  const ws = new ReconnectingWebSocket(s.url, undefined, { ...fast, heartbeat: { interval: 100, timeout: 200 } });
  const log = [];
  for (const type of ['open', 'ping', 'heartbeattimeout', 'close', 'reconnecting']) {
    ws.on(type, (a) => log.push(type === 'close' ? `close ${a}` : type === 'reconnecting' ? `reconnecting ${a.attempt}` : type));
  }
  try {
    await next(ws, 'reconnecting', 2000);
    assert.deepEqual(log, ['open', 'ping', 'heartbeattimeout', 'close 4000', 'reconnecting 1']);
  } finally {
    ws.close();
    s.stop();
  }

  const s2 = await server();
  const ws2 = new ReconnectingWebSocket(s2.url, undefined, { ...fast, heartbeat: { interval: 50, timeout: 500 } });
  try {
    const [rtt] = await next(ws2, 'pong');
    assert.equal(typeof rtt, 'number');
    assert.equal(ws2.rtt, rtt);
  } finally {
    ws2.close();
    s2.stop();
  }
});

test('no reconnect after close(), nor after a 1008 from the server; url provider per attempt', async () => {
  const s = await server();
  const attempts = [];
  const ws = new ReconnectingWebSocket((n) => { attempts.push(n); return s.url; }, [], fast);
  ws.onopen = () => ws.send('__close__:1008');
  const [end] = await next(ws, 'end');
  assert.deepEqual(end, { reason: 'close-code', code: 1008 });
  assert.equal(ws.readyState, ReconnectingWebSocket.CLOSED);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(attempts, [0]);
  ws.reconnect();
  await next(ws, 'open');
  assert.deepEqual(attempts, [0, 0]);
  ws.close(1000, 'bye');
  await next(ws, 'end');
  let reconnected = false;
  ws.on('connecting', () => { reconnected = true; });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(reconnected, false);
  s.stop();
});

test('connection timeout and max retries against a server that never answers', async () => {
  const net = require('node:net');
  const silent = net.createServer(() => {}); // accepts TCP, never completes the handshake
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  const sockets = new Set();
  silent.on('connection', (c) => sockets.add(c));
  const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${silent.address().port}`, undefined,
    { ...fast, connectionTimeout: 100, maxRetries: 2 });
  const closes = [];
  ws.on('close', (code) => closes.push(code));
  const [end] = await next(ws, 'end', 3000);
  assert.deepEqual(end, { reason: 'max-retries', code: null });
  assert.deepEqual(closes, [4001, 4001, 4001]);
  for (const c of sockets) c.destroy();
  silent.close();
});

test('browser-style events: addEventListener (once, handleEvent), on<type>, detail events', async () => {
  const s = await server();
  const ws = new ReconnectingWebSocket(s.url, undefined, fast);
  const seen = [];
  ws.addEventListener('open', { handleEvent: (e) => seen.push(['open', e.type, e.target === ws]) }, { once: true });
  ws.addEventListener('end', (e) => seen.push(['end', e.detail.reason, e.detail.code]));
  const dropped = () => seen.push(['removed listener ran']);
  ws.addEventListener('message', dropped);
  ws.removeEventListener('message', dropped);
  ws.onmessage = () => seen.push(['first onmessage']);
  ws.onmessage = (e) => seen.push(['message', e.data]); // replaces the first
  assert.equal(typeof ws.onmessage, 'function');
  ws.onclose = (e) => seen.push(['close', e.code, e.reason, e.wasClean]);
  await next(ws, 'open');
  ws.send('hi');
  await next(ws, 'message');
  ws.close(1000, 'bye');
  await next(ws, 'end');
  s.stop();
  assert.equal(ws.listenerCount('open'), 0, 'a once listener is gone after it ran');
  assert.deepEqual(seen.slice(0, 2), [['open', 'open', true], ['message', 'hi']]);
  assert.deepEqual(seen.slice(2).map((e) => e[0]).sort(), ['close', 'end']);
  assert.deepEqual(seen.find((e) => e[0] === 'close'), ['close', 1000, 'bye', true]);
  const end = seen.find((e) => e[0] === 'end');
  assert.equal(typeof end[1], 'string', 'end carries detail.reason');
});

test('a send while the server closes (1012, slow TCP teardown) is queued for the next link; readyState says CLOSING', async () => {
  const http = require('node:http');
  const { rawAccept } = require('../fixtures/raw-ws');
  const got = [];
  let links = 0;
  const srv = http.createServer();
  srv.on('upgrade', (req, socket) => {
    const link = ++links;
    let n = 0;
    const raw = rawAccept(req, socket, {
      onText: (t) => {
        got.push(t);
        if (link === 1 && ++n === 20) {
          raw.closeFrame(1012); // and the TCP stays up 800 ms
          setTimeout(() => raw.destroy(), 800);
        }
      },
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${srv.address().port}`, undefined, fast);
  const states = new Set();
  try {
    await next(ws, 'open');
    for (let i = 0; i < 200; i++) {
      ws.send(`m${i}`);
      states.add(ws.readyState);
      await new Promise((r) => setTimeout(r, 5));
    }
    const end = Date.now() + 5000;
    while (got.length < 200 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => `m${i}`));
    assert.ok(states.has(ReconnectingWebSocket.CLOSING), [...states].join());
    assert.equal(links, 2);
  } finally {
    ws.close();
    srv.close();
  }
});
