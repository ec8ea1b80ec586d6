'use strict';

// permessage-deflate (RFC 7692) on the native transport (`transport: 'native'`): each
// scenario runs on ws's server and on the native one and the logs must match — the
// answers to offers (good, with parameters, bad), `ws.extensions`, compressed echoes
// of small and large messages (large ones are (de)compressed on libuv's pool),
// `compress: false`, the threshold, ws and ferrosocket clients as peers, and close or
// terminate while a message is being compressed.

const test = require('node:test');
const assert = require('node:assert');
const crypto = require('crypto');
const net = require('net');

const h = require('./helpers');

const NATIVE = { transport: 'native' };
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function listen(lib, options = {}) {
  return h.listen(lib, lib === h.ferrosocket ? { ...NATIVE, ...options } : options);
}

async function same(scenario, ms = 30000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

const text = (size, seed) => h.jsonText(size, seed);

const digest = (d) => crypto.createHash('sha1').update(d).digest('hex').slice(0, 12);

/** The whole answer to an upgrade request offering `extensions` (until close or 101). */
function answer(port, extensions) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = () => {
      s.destroy();
      resolve(got);
    };
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.startsWith('HTTP/1.1 101') && got.includes('\r\n\r\n')) done();
    });
    s.on('close', done);
    s.on('error', () => {});
    s.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n` +
        (extensions === null ? '' : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
        '\r\n'
    );
  });
}

/** What of an HTTP answer ws decides: status line, extensions header, body. */
function decided(raw) {
  const [head, body] = raw.split('\r\n\r\n');
  const lines = head.split('\r\n');
  const ext = lines.find((l) => /^sec-websocket-extensions:/i.test(l));
  return [lines[0], ext === undefined ? null : ext, body];
}

const OFFERS = [
  null,
  'permessage-deflate',
  'permessage-deflate; client_max_window_bits',
  'permessage-deflate; client_max_window_bits=10; server_no_context_takeover',
  'permessage-deflate; server_max_window_bits=9',
  'permessage-deflate; server_max_window_bits=12; client_no_context_takeover',
  'permessage-deflate; server_max_window_bits=8, permessage-deflate',
  'x-webkit-deflate-frame, permessage-deflate; client_max_window_bits',
  'x-webkit-deflate-frame',
  // Bad offers: ws answers 400.
  'permessage-deflate; foo',
  'permessage-deflate; server_max_window_bits=16',
  'permessage-deflate; server_max_window_bits',
  'permessage-deflate; client_no_context_takeover=1',
  'permessage-deflate; client_max_window_bits=7',
  'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
  'permessage-deflate;; x',
  'permessage-deflate; a="b'
];

const SERVER_OPTIONS = [
  true,
  { serverMaxWindowBits: 10 },
  { clientMaxWindowBits: 12, serverNoContextTakeover: true },
  { clientNoContextTakeover: true, threshold: 10 }
];

/** Every offer's answer (and the extensions of the connections made). */
async function answers(lib, options) {
  const wss = await listen(lib, options);
  const log = [];
  // (The client side goes away after the 101: a terminate() here would drop the
  // native 101 unwritten — it is queued, not written, when 'connection' runs.)
  wss.on('connection', (ws) => log.push(['extensions', ws.extensions]));
  for (const offer of OFFERS) log.push([offer, decided(await answer(wss.address().port, offer))]);
  await h.closeServer(wss);
  return log;
}

test('answers to permessage-deflate offers (params, several, bad) are ws’s', async () => {
  for (const pmd of SERVER_OPTIONS) {
    await same(async (lib) => [JSON.stringify(pmd), await answers(lib, { perMessageDeflate: pmd })]);
  }
});

test('options set to false answer as on the stream transport (see the report)', async () => {
  // ws refuses offers with a parameter its option sets to `false`; the shared
  // normalisation (deflate-options.js) reads `false` as absent, on both transports.
  for (const pmd of [
    { serverNoContextTakeover: false, clientNoContextTakeover: true },
    { serverMaxWindowBits: false },
    { clientMaxWindowBits: false }
  ]) {
    const stream = await answers(h.ferrosocket, { perMessageDeflate: pmd, transport: 'stream' });
    const native = await answers(h.ferrosocket, { perMessageDeflate: pmd });
    assert.deepStrictEqual(native, stream, JSON.stringify(pmd));
  }
});

test('without perMessageDeflate an offer is ignored, and extensions is empty', async () => {
  await same(async (lib) => {
    const wss = await listen(lib);
    const ext = h.once(wss, 'connection').then(([ws]) => ws.extensions);
    const c = new h.ws.WebSocket(h.url(wss), { perMessageDeflate: true });
    await h.once(c, 'open');
    const log = [await ext, c.extensions];
    c.terminate();
    await h.closeServer(wss);
    return log;
  });
});

test('the offer is answered before verifyClient runs, as in ws', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib, {
      perMessageDeflate: { serverMaxWindowBits: 10 },
      verifyClient: (info) => {
        log.push(['verifyClient', info.req.headers['sec-websocket-extensions']]);
        return true;
      }
    });
    wss.on('headers', (lines) => log.push(['headers', lines.filter((l) => /Extensions/.test(l))]));
    for (const offer of ['permessage-deflate; server_max_window_bits=9', 'permessage-deflate']) {
      log.push(decided(await answer(wss.address().port, offer)));
    }
    await h.closeServer(wss);
    return log;
  });
});

for (const peer of ['ws', 'ferrosocket']) {
  test(`compressed echo of small and large messages, ${peer} client`, async () => {
    await same(async (lib) => {
      const log = [];
      const wss = await listen(lib, { perMessageDeflate: true });
      wss.on('connection', (ws) => {
        log.push(['server extensions', ws.extensions]);
        ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary }));
      });
      const c = new h.LIBS[peer].WebSocket(h.url(wss), { perMessageDeflate: true });
      await h.once(c, 'open');
      log.push(['client extensions', c.extensions]);
      const sizes = [0, 10, 1023, 1024, 5000, 70000, 300000, 4 << 20, 3, 1 << 20, 1];
      const sent = sizes.map((n, i) => (i % 2 ? Buffer.from(text(n, i)) : text(n, i)));
      const got = [];
      c.on('message', (d, isBinary) => got.push([d.length, isBinary, digest(d)]));
      for (const m of sent) c.send(m);
      const total = sizes.reduce((a, b) => a + b, 0);
      const end = Date.now() + 20000;
      while (got.length < sent.length && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 10));
      }
      log.push(['echoed', got]);
      assert.deepStrictEqual(
        got,
        sent.map((m, i) => [m.length, i % 2 === 1, digest(m)])
      );
      // The echoes came compressed: far fewer bytes than the text.
      log.push(['compressed', c._socket.bytesRead < total / 2]);
      c.close();
      await h.once(c, 'close');
      await h.closeServer(wss);
      return log;
    }, 60000);
  });
}

/**
 * A raw client that offers permessage-deflate and records the frames it gets:
 * [opcode, rsv1, length].
 */
function rawDeflateClient(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let open = false;
    const frames = [];
    s.on('error', () => {});
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!open) {
        const i = buf.indexOf('\r\n\r\n');
        if (i === -1) return;
        if (!buf.subarray(0, i).toString().includes('permessage-deflate')) {
          reject(new Error('not agreed'));
        }
        open = true;
        buf = buf.subarray(i + 4);
        resolve({ socket: s, frames });
      }
      let f;
      while ((f = h.parseFrame(buf))) {
        frames.push([f.opcode, (buf[0] & 0x40) !== 0, f.payload.length > 0]);
        buf = buf.subarray(f.size);
      }
    });
    s.write(
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n` +
        'Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n'
    );
  });
}

/** The frames a raw deflate client gets from a server that sends a fixed list. */
async function framesSent(lib, options) {
  const wss = await listen(lib, options);
  wss.on('connection', (ws) => {
    ws.send(text(2000));
    ws.send(text(2000), { compress: false });
    ws.send(text(1023));
    ws.send(text(1024));
    ws.send(text(10));
    ws.send(Buffer.from(text(6000)), { binary: true });
    ws.send(text(200000), { compress: false });
    ws.send(text(200000));
    ws.send('end');
  });
  const c = await rawDeflateClient(wss.address().port);
  const end = Date.now() + 10000;
  while (c.frames.length < 9 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  c.socket.destroy();
  await h.closeServer(wss);
  return c.frames;
}

test('compress: false and the threshold (ws applies it without context takeover)', async () => {
  for (const pmd of [
    { serverNoContextTakeover: true },
    { serverNoContextTakeover: true, threshold: 0 },
    { serverNoContextTakeover: true, threshold: 5000 }
  ]) {
    await same(async (lib) => [JSON.stringify(pmd), await framesSent(lib, { perMessageDeflate: pmd })]);
  }
});

test('the threshold with context takeover is the stream transport’s (see the report)', async () => {
  // ws compresses every message when its context is kept (sender.js applies the
  // threshold only with no_context_takeover); the core applies it always, on both
  // transports alike.
  for (const pmd of [true, { threshold: 0 }, { threshold: 5000 }]) {
    const stream = await framesSent(h.ferrosocket, { perMessageDeflate: pmd, transport: 'stream' });
    const native = await framesSent(h.ferrosocket, { perMessageDeflate: pmd });
    assert.deepStrictEqual(native, stream, JSON.stringify(pmd));
    assert.deepStrictEqual(native[1], [1, false, true], 'compress: false');
  }
});

test('many large and small sends with callbacks: order of messages and callbacks', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib, { perMessageDeflate: true });
    wss.on('connection', (ws) => {
      const sizes = [200000, 5, 3 << 20, 70000, 8, 100000];
      sizes.forEach((n, i) => ws.send(text(n, i), () => log.push(['sent', i])));
      ws.ping('p', false, () => log.push(['ping sent']));
      ws.send('last', () => log.push(['sent last', ws.bufferedAmount]));
      log.push(['buffered while compressing', ws.bufferedAmount > 3 << 20]);
    });
    const c = new h.ws.WebSocket(h.url(wss), { perMessageDeflate: true });
    c.on('message', (d) => log.push(['client got', d.length]));
    c.on('ping', () => log.push(['client ping']));
    await h.once(c, 'open');
    const end = Date.now() + 20000;
    while (!log.some((e) => e[0] === 'client got' && e[1] === 4) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    await h.once(c, 'close');
    await h.closeServer(wss);
    // Callbacks may run before or after the client reads: compare each side's order.
    return [log.filter((e) => e[0].startsWith('client')), log.filter((e) => !e[0].startsWith('client'))];
  });
});

for (const how of ['terminate', 'close']) {
  test(`${how}() while a large message is being compressed`, async () => {
    await same(async (lib) => {
      const log = [];
      const wss = await listen(lib, { perMessageDeflate: true });
      wss.on('connection', (ws) => {
        ws.send(text(8 << 20), (err) => log.push(['cb big', err ? err.message : null]));
        ws.send('after', (err) => log.push(['cb after', err ? err.message : null]));
        if (how === 'terminate') ws.terminate();
        else ws.close(4001, 'done');
        log.push(['readyState', ws.readyState]);
        ws.on('close', (code, reason) => log.push(['server close', code, String(reason)]));
      });
      const c = new h.ws.WebSocket(h.url(wss), { perMessageDeflate: true });
      c.on('error', () => {});
      c.on('message', (d) => log.push(['client got', d.length]));
      const closed = h.once(c, 'close');
      const [code, reason] = await h.within(closed, 20000, 'client close');
      log.push(['client close', code, String(reason)]);
      await new Promise((r) => setTimeout(r, 50));
      await h.closeServer(wss);
      return log.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    });
  });
}

test('a large compressed message from the client is inflated off the loop and echoed', async () => {
  await same(async (lib) => {
    const wss = await listen(lib, { perMessageDeflate: true });
    wss.on('connection', (ws) => {
      ws.on('message', (d) => ws.send(`${d.length} ${digest(d)}`));
    });
    const c = new h.ws.WebSocket(h.url(wss), { perMessageDeflate: true });
    await h.once(c, 'open');
    const msgs = [text(6 << 20, 7), 'small', text(40000, 8)];
    const got = [];
    c.on('message', (d) => got.push(String(d)));
    for (const m of msgs) c.send(m);
    const end = Date.now() + 20000;
    while (got.length < msgs.length && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    c.close();
    await h.once(c, 'close');
    await h.closeServer(wss);
    return got;
  });
});

test("transport: 'auto' takes the native transport with perMessageDeflate", async () => {
  const wss = await h.listen(h.ferrosocket, { transport: 'auto', perMessageDeflate: true });
  assert.strictEqual(wss.options.transport, 'native');
  await h.closeServer(wss);
});

test('terminate() while a received message is being inflated: it is delivered, then close', async () => {
  await same(async (lib) => {
    const wss = await listen(lib, { perMessageDeflate: true });
    const seen = [];
    const server = h.once(wss, 'connection');
    const c = new h.ws.WebSocket(h.url(wss), { perMessageDeflate: true });
    c.on('error', () => {});
    await h.once(c, 'open');
    const [sock] = await server;
    sock.on('message', (d) => seen.push(['message', d.length]));
    const closed = h.once(sock, 'close');
    let written = false;
    c.send(text(10 << 20, 3));
    c.send('small', () => (written = true));
    // Once everything the client wrote is read, the large message is being inflated.
    const t = setInterval(() => {
      if (written && sock._socket.bytesRead >= c._socket.bytesWritten) {
        clearInterval(t);
        sock.terminate();
      }
    }, 1);
    const [code] = await h.within(closed, 20000, 'server close');
    seen.push(['close', code]);
    c.terminate();
    await h.closeServer(wss);
    return seen;
  });
});

test('concurrencyLimit bounds the zlib jobs of every native server of the process, as ws', async () => {
  // ws's limiter is one per process, sized by the first connection that needs it: two
  // servers with 2 clients each, 4 large sends at once. A fresh process each time.
  const { execFileSync } = require('child_process');
  const peak = (limit) => {
    const script = `
    const { WebSocketServer } = require(${JSON.stringify(require.resolve('../../npm'))});
    const binding = require(${JSON.stringify(require.resolve('../../npm/lib/binding'))});
    const WS = require(${JSON.stringify(require.resolve('../../npm/node_modules/ws'))});
    const payload = require('crypto').randomBytes(1500000).toString('base64');
    let got = 0;
    const start = (done) => {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, transport: 'native', perMessageDeflate: { concurrencyLimit: ${limit} } }, () => {
        for (let i = 0; i < 2; i++) {
          const c = new WS('ws://127.0.0.1:' + wss.address().port, { perMessageDeflate: true });
          c.on('message', (d) => { if (d.length === payload.length && ++got === 4) { console.log(binding.nativeJobsPeak()); process.exit(0); } });
        }
      });
      const conns = [];
      wss.on('connection', (s) => { conns.push(s); if (conns.length === 2) done(conns); });
    };
    let ready = [];
    const both = (conns) => { ready.push(...conns); if (ready.length === 4) for (const s of ready) s.send(payload); };
    start(both);
    start(both);
    setTimeout(() => process.exit(2), 20000);
  `;
    return Number(execFileSync(process.execPath, ['-e', script], { timeout: 30000 }).toString());
  };
  assert.strictEqual(peak(1), 1);
  assert.strictEqual(peak(2), 2);
});
