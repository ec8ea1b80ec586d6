'use strict';
// Acknowledged delivery with the Node ReconnectingWebSocket and the npm AckServer: the server
// process is SIGKILLed by PID and restarted on the same port while the client sends; every
// message reaches the server application exactly once, in order.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { once } = require('node:events');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { WebSocketServer, ReconnectingWebSocket, AckServer } = require(path.join(__dirname, '..', '..', 'npm'));
const { startApp, readLog } = require('../fixtures/ack-harness');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

test('acknowledged mode: 2000 messages across 5 SIGKILLs of the server, each handed once, in order', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ack-'));
  const log = path.join(dir, 'log');
  let app = await startApp(0, log);
  const port = app.port;
  const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${port}`, [], {
    acknowledged: true, minDelay: 20, maxDelay: 100, heartbeat: { mode: 'off' },
    maxQueuedMessages: 10000, maxQueuedBytes: 1 << 22,
  });
  const echoes = [];
  ws.on('message', (d) => echoes.push(d.toString()));
  ws.on('error', () => {});
  let opens = 0;
  ws.on('open', () => opens++);
  const total = 2000;
  let sent = 0;
  const sender = setInterval(() => {
    for (let i = 0; i < 5 && sent < total; i++) ws.send(`m${sent++}`);
  }, 1);
  try {
    for (let kill = 0; kill < 5; kill++) {
      await sleep(120);
      await app.kill();
      app = await startApp(port, log);
    }
    await until(() => sent === total && ws.queueLength === 0, 15000, 'every message acknowledged');
    assert.ok(opens >= 3, `a link per server process (${opens})`);
    const handed = readLog(log);
    assert.equal(handed.size, 1, 'one session');
    const [entries] = handed.values();
    assert.deepEqual(entries.map((e) => e.seq), Array.from({ length: total }, (_, i) => i + 1));
    assert.deepEqual(entries.map((e) => e.payload), Array.from({ length: total }, (_, i) => `m${i}`));
    // Echoes sent by a process that was killed may be lost; none is duplicated or reordered.
    const seen = echoes.map((e) => Number(e.slice(6)));
    assert.deepEqual(seen, [...new Set(seen)].sort((a, b) => a - b));
  } finally {
    clearInterval(sender);
    ws.close();
    await app.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('acknowledged mode: server messages are replayed after a dropped link, once and in order', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: AckServer.handleProtocols });
  await once(wss, 'listening');
  const acks = new AckServer(wss);
  let session;
  acks.on('session', (s) => { session = s; });
  const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${wss.address().port}`, [], {
    acknowledged: true, minDelay: 20, maxDelay: 50, heartbeat: { mode: 'off' },
  });
  const got = [];
  ws.on('message', (d, isBinary) => got.push([d.toString(), isBinary]));
  try {
    await once(ws, 'open');
    await until(() => session, 2000, 'session');
    for (let i = 0; i < 300; i++) {
      session.send(i % 2 ? Buffer.from(`s${i}`) : `s${i}`);
      if (i % 60 === 30) session.socket && session.socket.terminate(); // drop without a close frame
      if (i % 10 === 0) await sleep(2);
    }
    await until(() => got.length >= 300, 5000, 'all server messages');
    await sleep(100);
    assert.deepEqual(got.map((g) => g[0]), Array.from({ length: 300 }, (_, i) => `s${i}`));
    assert.deepEqual(got.map((g) => g[1]), Array.from({ length: 300 }, (_, i) => i % 2 === 1));
    await until(() => session.pending === 0, 2000, 'client acknowledged everything');
  } finally {
    ws.close();
    wss.close();
    for (const c of wss.clients) c.terminate();
  }
});

test('acknowledged mode: nothing is sent to a server that does not select the subprotocol', async () => {
  // ws's default picks the first offered subprotocol; this server picks none, which a ws-style
  // client treats as a failed handshake (a browser opens and the session ends: ack-refused).
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => false });
  await once(wss, 'listening');
  const received = [];
  wss.on('connection', (c) => c.on('message', (d) => received.push(d)));
  const ws = new ReconnectingWebSocket(`ws://127.0.0.1:${wss.address().port}`, [],
    { acknowledged: true, heartbeat: { mode: 'off' }, minDelay: 10, maxDelay: 20, maxRetries: 1 });
  const errors = [];
  ws.on('error', (e) => errors.push(e.message));
  ws.send('kept?');
  const dropped = [];
  ws.on('dropped', (data, reason) => dropped.push([data, reason]));
  const end = await new Promise((resolve) => ws.once('end', resolve)); // events.once rejects on 'error'
  assert.deepEqual(end, { reason: 'max-retries', code: null });
  assert.deepEqual(dropped, [['kept?', 'closed']]);
  assert.deepEqual(errors, ['Server sent no subprotocol', 'Server sent no subprotocol']);
  assert.deepEqual(received, []);
  wss.close();
});

test('session options are checked by the core and thrown as TypeError', () => {
  assert.throws(() => new ReconnectingWebSocket('ws://127.0.0.1:9', [], { overflow: 'drop-all' }),
    { name: 'TypeError', message: /overflow must be drop-oldest, drop-newest or error/ });
  assert.throws(() => new ReconnectingWebSocket('ws://127.0.0.1:9', [], { heartbeat: { mode: 'message' } }),
    { name: 'TypeError', message: /needs both ping and pong/ });
});
