'use strict';
// The browser package (pkg/) in Debian Chromium: what it promises about delivery (issue 11).
//  - a send while the server's close is under way (close frame sent, TCP torn down 1.5 s later)
//    is queued for the next link, and readyState says CLOSING meanwhile;
//  - acknowledged mode: messages flushed into links that open and die at once are not lost;
//  - an oversized send is refused before it is copied into wasm memory;
//  - acknowledged mode across repeated SIGKILLs of the server process: every message is handed
//    to the server application exactly once, in order.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { launch, pageServer, openPage, rawAccept, root } = require('./helpers');
const { startApp, readLog } = require('../fixtures/ack-harness');
const { WebSocketServer, AckServer } = require(path.join(root, 'npm'));

const range = (n) => Array.from({ length: n }, (_, i) => `m${i}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let browser;
before(async () => { browser = await launch(); });
after(async () => { if (browser) await browser.close().catch(() => {}); });

test('a send while the server closes (1012, slow TCP teardown) is queued, not lost; readyState says CLOSING', async () => {
  const got = [];
  let links = 0;
  const srv = await pageServer((req, socket) => {
    const link = ++links;
    let n = 0;
    const ws = rawAccept(req, socket, {
      onText: (t) => {
        got.push(t);
        // The first link: after 50 messages, a close frame, and the TCP stays up 1.5 s.
        if (link === 1 && ++n === 50) {
          ws.closeFrame(1012);
          setTimeout(() => ws.destroy(), 1500);
        }
      },
    });
  });
  const { page, errors } = await openPage(browser, srv.base);
  try {
    const seen = await page.evaluate((url) => new Promise((resolve) => {
      const rws = new window.ReconnectingWebSocket(url, [], { minDelay: 50, maxDelay: 100 });
      const states = new Set();
      let i = 0;
      rws.onopen = () => {
        if (i) return;
        const timer = setInterval(() => {
          rws.send(`m${i++}`);
          states.add(rws.readyState);
          if (i === 400) { clearInterval(timer); resolve([...states]); }
        }, 5);
      };
    }), srv.ws);
    const end = Date.now() + 10_000;
    while (got.length < 400 && Date.now() < end) await sleep(20);
    assert.deepEqual(got, range(400), 'every message once, in order');
    assert.ok(seen.includes(2), `readyState was CLOSING during the close (${seen})`);
    assert.equal(links, 2);
    assert.deepEqual(errors.filter((e) => /CLOSING or CLOSED/.test(e)), []);
  } finally {
    await page.close();
    srv.close();
  }
});

test('acknowledged mode: messages flushed into links that open and die at once are sent again', async () => {
  const wss = new WebSocketServer({ noServer: true, handleProtocols: AckServer.handleProtocols });
  const acks = new AckServer(wss);
  const got = [];
  acks.on('session', (s) => s.on('message', (d) => got.push(d.toString())));
  let links = 0;
  const srv = await pageServer((req, socket, head) => {
    // The first three: the handshake succeeds, then the "server" dies before reading anything.
    if (++links <= 3) {
      rawAccept(req, socket, { protocol: AckServer.SUBPROTOCOL });
      setImmediate(() => socket.destroy());
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  const { page, errors } = await openPage(browser, srv.base);
  try {
    await page.evaluate((url) => new Promise((resolve) => {
      const rws = new window.ReconnectingWebSocket(url, [], { acknowledged: true, minDelay: 20, maxDelay: 50 });
      for (let i = 0; i < 150; i++) rws.send(`m${i}`);
      const timer = setInterval(() => {
        if (rws.readyState === 1 && rws.queueLength === 0) { clearInterval(timer); resolve(); }
      }, 10);
    }), srv.ws);
    assert.ok(links >= 4, `links: ${links}`);
    assert.deepEqual(got, range(150));
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    srv.close();
  }
});

test('an oversized send while offline is refused before it reaches wasm memory', async () => {
  const srv = await pageServer();
  const { page } = await openPage(browser, srv.base);
  try {
    const r = await page.evaluate(() => {
      const url = 'ws://127.0.0.1:9/'; // nothing listens: the socket stays offline
      const opts = { maxQueuedBytes: 1 << 20, minDelay: 60_000 };
      const rws = new window.ReconnectingWebSocket(url, [], opts);
      const strict = new window.ReconnectingWebSocket(url, [], { ...opts, overflow: 'error' });
      const dropped = [];
      rws.addEventListener('dropped', (e) => dropped.push([e.detail.reason, e.detail.data.length]));
      const before = window.wasm.memory.buffer.byteLength;
      const thrown = [];
      for (let i = 0; i < 5; i++) {
        rws.send(new Uint8Array(5 << 20));
        rws.send('é'.repeat(600_000)); // 1.2 MB of UTF-8 in 600,000 UTF-16 units
        try { strict.send(new Uint8Array(3 << 20)); } catch (e) { thrown.push(e.message); }
      }
      const grown = window.wasm.memory.buffer.byteLength - before;
      rws.send('fits');
      const result = { grown, dropped: [...dropped], thrown, queued: rws.queueLength, strictQueued: strict.queueLength };
      rws.close();
      strict.close();
      return result;
    });
    assert.equal(r.grown, 0, 'wasm memory did not grow');
    assert.deepEqual(r.dropped, Array.from({ length: 5 }, () => [['too-large', 5 << 20], ['too-large', 600_000]]).flat());
    assert.equal(r.thrown.length, 5);
    assert.match(r.thrown[0], /larger than the send queue/);
    assert.equal(r.queued, 1);
    assert.equal(r.strictQueued, 0);
  } finally {
    await page.close();
    srv.close();
  }
});

test('acknowledged mode across 4 SIGKILLs of the server process: each message handed once, in order', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ack-browser-'));
  const log = path.join(dir, 'log');
  let app = await startApp(0, log);
  const port = app.port;
  const srv = await pageServer();
  const { page, errors } = await openPage(browser, srv.base);
  const total = 1000;
  try {
    await page.evaluate(({ url, total }) => {
      const rws = new window.ReconnectingWebSocket(url, [], {
        acknowledged: true, minDelay: 20, maxDelay: 100, maxQueuedMessages: 5000, maxQueuedBytes: 1 << 22,
      });
      window.rws = rws;
      window.sent = 0;
      const timer = setInterval(() => {
        for (let i = 0; i < 2 && window.sent < total; i++) rws.send(`m${window.sent++}`);
        if (window.sent === total) clearInterval(timer);
      }, 2);
    }, { url: `ws://127.0.0.1:${port}/`, total });
    for (let kill = 0; kill < 4; kill++) {
      await sleep(150);
      await app.kill();
      app = await startApp(port, log);
    }
    await page.waitForFunction((total) => window.sent === total && window.rws.queueLength === 0 && window.rws.readyState === 1,
      total, { timeout: 15_000 });
    const handed = readLog(log);
    assert.equal(handed.size, 1, 'one session');
    const [entries] = handed.values();
    assert.deepEqual(entries.map((e) => e.payload), range(total));
    assert.deepEqual(entries.map((e) => e.seq), Array.from({ length: total }, (_, i) => i + 1));
    assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_REFUSED|WebSocket connection to/.test(e)), []);
  } finally {
    await page.close();
    srv.close();
    await app.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
