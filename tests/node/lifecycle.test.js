'use strict';

// The connection lifecycle as the core decides it, compared with ws: automatic
// pongs through an overridden pong() and their bound, the fragment limit, the
// close timeout, a peer that half-closes, and client masking options.

const test = require('node:test');
const assert = require('node:assert');
const net = require('net');

const h = require('./helpers');

async function same(scenario, ms = 8000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

const closed = (raw) => new Promise((r) => (raw.isClosed() ? r() : raw.socket.on('close', r)));

test('an overridden pong() receives the automatic pongs, and the bound terminates', async () => {
  const log = await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib, { maxPendingAutoPongs: 3 });
    wss.on('connection', (sock) => {
      // A test double for a peer that never gets our pongs: swallow them.
      sock.pong = (data, mask, cb) => log.push(['pong()', String(data), mask, typeof cb]);
      sock.on('close', (code) => log.push(['server close', code]));
    });
    const raw = await h.rawClient(wss.address().port);
    for (let i = 0; i < 5; i++) raw.socket.write(h.frame({ opcode: 9, payload: `p${i}` }));
    await h.within(closed(raw), 4000, 'terminate');
    log.push(['frames', raw.received.map((f) => f.opcode)]);
    await h.closeServer(wss);
    return log;
  });
  assert.deepStrictEqual(log.slice(0, 3).map((e) => e[1]), ['p0', 'p1', 'p2']);
});

test('too many fragments: 1008 and WS_ERR_TOO_MANY_BUFFERED_PARTS', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib, { maxFragments: 2 });
    const serverClosed = h.firstClose(wss);
    wss.on('connection', (sock) => {
      sock.on('error', (err) => log.push(['error', h.errorInfo(err)]));
    });
    const raw = await h.rawClient(wss.address().port);
    raw.socket.write(h.frame({ opcode: 1, fin: false, payload: 'a' }));
    raw.socket.write(h.frame({ opcode: 0, fin: false, payload: 'b' }));
    raw.socket.write(h.frame({ opcode: 0, fin: true, payload: 'c' }));
    await h.within(closed(raw), 4000, 'close');
    log.push(await h.within(serverClosed, 4000, 'server close'));
    log.push(['frames', raw.received.map((f) => [f.opcode, f.payload.readUInt16BE(0)])]);
    await h.closeServer(wss);
    return log;
  });
});

test('close timeout: a peer that never answers our close is cut off', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib, { closeTimeout: 150 });
    const serverClosed = new Promise((resolve) => {
      wss.on('connection', (sock) => {
        sock.on('close', (code, reason) => resolve(['server close', code, String(reason)]));
        sock.close(1000, 'bye');
        log.push(['state after close()', sock.readyState]);
      });
    });
    const raw = await h.rawClient(wss.address().port);
    // Keep the socket open and never reply.
    await h.within(closed(raw), 4000, 'close timeout');
    log.push(await h.within(serverClosed, 4000, 'server close'));
    log.push(['frames', raw.received.map((f) => f.opcode)]);
    await h.closeServer(wss);
    return log;
  });
});

test('a peer that ends TCP without a close frame: 1006, and our side ends too', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    const gone = new Promise((resolve) => {
      wss.on('connection', (sock) => {
        sock.on('close', (code) => {
          log.push(['server close', code, sock.readyState]);
          resolve();
        });
      });
    });
    const raw = await h.rawClient(wss.address().port);
    raw.socket.end();
    await h.within(gone, 4000, 'server close');
    await h.within(closed(raw), 4000, 'raw close');
    await h.closeServer(wss);
    return log;
  });
});

/** A raw server that captures the client's first frames after the upgrade. */
async function capture(lib, options, act) {
  const srv = await h.rawServer(null);
  const c = new lib(`ws://127.0.0.1:${srv.port}`, options);
  await h.once(c, 'open');
  act(c);
  await new Promise((r) => setTimeout(r, 100));
  c.terminate();
  await srv.close();
  const bytes = Buffer.concat(srv.received);
  const frames = [];
  let off = 0;
  while (off + 2 <= bytes.length) {
    const masked = (bytes[off + 1] & 0x80) !== 0;
    const len = bytes[off + 1] & 0x7f; // short payloads only in these tests
    const key = masked ? [...bytes.subarray(off + 2, off + 6)] : null;
    frames.push({ opcode: bytes[off] & 0x0f, masked, key });
    off += 2 + (masked ? 4 : 0) + len;
  }
  return frames;
}

test('client masking: send({ mask: false }) and generateMask for data and control frames', async () => {
  await same(async (lib) => {
    const unmasked = await capture(lib, {}, (c) => c.send('x', { mask: false }));
    const keyed = await capture(lib, { generateMask: (m) => m.fill(7) }, (c) => {
      c.send('y');
      c.ping('p');
      c.pong('q');
    });
    return { unmasked, keyed };
  });
});

test('the engine ignores what follows a close frame in the same chunk', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    const serverClosed = h.firstClose(wss);
    wss.on('connection', (sock) => {
      sock.on('message', (m) => log.push(['message', String(m)]));
    });
    const raw = await h.rawClient(wss.address().port);
    const close = Buffer.from([0x03, 0xe8]);
    raw.socket.write(
      Buffer.concat([
        h.frame({ opcode: 1, payload: 'before' }),
        h.frame({ opcode: 8, payload: close }),
        h.frame({ opcode: 1, payload: 'after' })
      ])
    );
    await h.within(closed(raw), 4000, 'close');
    log.push(await h.within(serverClosed, 4000, 'server close'));
    log.push(['frames', raw.received.map((f) => f.opcode)]);
    await h.closeServer(wss);
    return log;
  });
});

test('net sockets are not leaked by the close paths', async () => {
  const lib = h.ferrosocket;
  const wss = await h.listen(lib, { closeTimeout: 100 });
  let closes = 0;
  wss.on('connection', (sock) => {
    sock.on('close', () => closes++);
    sock.close();
  });
  const raws = await Promise.all(Array.from({ length: 20 }, () => h.rawClient(wss.address().port)));
  await h.within(Promise.all(raws.map(closed)), 4000, 'all closed');
  await h.within(
    (async () => {
      while (closes < 20) await new Promise((r) => setTimeout(r, 10));
    })(),
    4000,
    'close events'
  );
  assert.strictEqual(wss.clients.size, 0);
  assert.ok(raws.every((r) => r.socket instanceof net.Socket));
  await h.closeServer(wss);
});

for (const [name, bad] of [
  ['a violation', h.frame({ opcode: 1, rsv: 4, payload: 'bad' })],
  ['a close frame', h.frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8]) })]
]) {
  test(`messages before ${name} in the same chunk are still answered (Autobahn 3.2, 5.15)`, async () => {
    await same(async (lib) => {
      const log = [];
      const wss = await h.listen(lib);
      wss.on('connection', (sock) => {
        sock.on('error', () => {});
        sock.on('message', (m, binary) => {
          log.push(['readyState at message', sock.readyState]);
          sock.send(m, { binary });
        });
      });
      const raw = await h.rawClient(wss.address().port);
      raw.socket.write(Buffer.concat([h.frame({ opcode: 1, payload: 'echo me' }), bad]));
      await h.within(closed(raw), 4000, 'close');
      log.push(['frames', raw.received.map((f) => [f.opcode, String(f.payload.subarray(f.opcode === 8 ? 2 : 0))])]);
      await h.closeServer(wss);
      return log;
    });
  });
}

test('close timeouts of many connections share one timer', async () => {
  const lib = h.ferrosocket;
  const wss = await h.listen(lib, { closeTimeout: 200 });
  const created = [];
  const realSetTimeout = global.setTimeout;
  let closes = 0;
  wss.on('connection', (sock) => {
    sock.on('close', () => closes++);
    global.setTimeout = (...args) => {
      created.push(args[1]);
      return realSetTimeout(...args);
    };
    try {
      sock.close(1000); // the raw peers never answer: each waits for its close timeout
    } finally {
      global.setTimeout = realSetTimeout;
    }
  });
  const raws = await Promise.all(Array.from({ length: 30 }, () => h.rawClient(wss.address().port)));
  await h.within(Promise.all(raws.map(closed)), 4000, 'all cut off');
  await h.within(
    (async () => {
      while (closes < 30) await new Promise((r) => realSetTimeout(r, 10));
    })(),
    4000,
    'close events'
  );
  // At most the first close arms a timer; later ones join the armed sweep.
  assert.ok(created.length <= 2, `timers created by close(): ${created.length}`);
  await h.closeServer(wss);
});
