'use strict';

// ws 8.x's extra exports — Receiver, PerMessageDeflate, extension, subprotocol — and
// binaryType 'fragments' / maxBufferedChunks: every scenario runs against ws and
// ferrosocket and the observations must be equal.

const test = require('node:test');
const assert = require('node:assert');
const zlib = require('zlib');

const { ws, ferrosocket, frame, listen, url, closeServer, once, within } = require('./helpers');

const LIBS = [ws, ferrosocket];

/** What a call returns, or the error it throws (class and message). */
function outcome(fn) {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: `${err.constructor.name}: ${err.message}` };
  }
}

function same(fn, what) {
  const [a, b] = LIBS.map((lib) => JSON.stringify(outcome(() => fn(lib))));
  assert.strictEqual(b, a, what);
}

test('exports exist in CommonJS with ws shapes', () => {
  for (const name of ['Receiver', 'PerMessageDeflate', 'Sender']) {
    assert.strictEqual(typeof ferrosocket[name], 'function', name);
  }
  assert.deepStrictEqual(Object.keys(ferrosocket.extension).sort(), Object.keys(ws.extension).sort());
  assert.deepStrictEqual(Object.keys(ferrosocket.subprotocol), Object.keys(ws.subprotocol));
  assert.strictEqual(ferrosocket.PerMessageDeflate.extensionName, 'permessage-deflate');
  assert.ok(new ferrosocket.Receiver() instanceof require('stream').Writable);
});

const EXTENSION_HEADERS = [
  'permessage-deflate',
  'permessage-deflate; client_max_window_bits; server_max_window_bits="10", foo',
  'foo; bar="b\\az" ;baz\t, foo',
  'a,b,a',
  'foo;bar=1;bar=2',
  'foo; bar=baz ; qux',
  'foo ; bar',
  'Foo; BAR',
  '',
  ' a',
  'a b',
  'x; y=',
  'x; y="a b"',
  'foo; bar="',
  'foo; bar="\\',
  'foo; bar=""',
  'foo;',
  'foo,',
  ',',
  'x; =1',
  'foo ',
  'foo; bar ',
  'é',
  'foo; bar=é',
  'foo; bar="a\\"',
  'foo; bar=a"b"'
];

test('extension.parse: same objects and same SyntaxErrors (with indices) as ws', () => {
  for (const h of EXTENSION_HEADERS) same((lib) => lib.extension.parse(h), h);
  // Null-prototype objects, as ws.
  assert.strictEqual(Object.getPrototypeOf(ferrosocket.extension.parse('a; b')), null);
  assert.strictEqual(Object.getPrototypeOf(ferrosocket.extension.parse('a; b').a[0]), null);
});

test('extension.format: same header values as ws', () => {
  for (const value of [
    { foo: {} },
    { foo: [{}, { bar: true }] },
    { 'permessage-deflate': [{ client_max_window_bits: [true], server_max_window_bits: ['10'] }] },
    { foo: { bar: [1, 2], baz: true }, qux: [{ a: 'b' }] },
    { a: [{ b: [true, 3] }] }
  ]) {
    same((lib) => lib.extension.format(value), JSON.stringify(value));
  }
});

test('subprotocol.parse: same sets and SyntaxErrors as ws', () => {
  for (const h of ['a', 'a, b', 'a ,\tb', 'a,a', 'a, b, a', ' a', 'a b', 'a,', 'a ', '', ',a', 'a,,b', 'é', 'a\t,b']) {
    same((lib) => [...lib.subprotocol.parse(h)], h);
  }
  assert.ok(ferrosocket.subprotocol.parse('a') instanceof Set);
});

const PMD_OPTIONS = [
  {},
  { serverNoContextTakeover: true },
  { serverNoContextTakeover: false },
  { clientNoContextTakeover: true },
  { clientNoContextTakeover: false },
  { serverMaxWindowBits: 10 },
  { serverMaxWindowBits: true },
  { serverMaxWindowBits: false },
  { clientMaxWindowBits: 12 },
  { clientMaxWindowBits: true },
  { clientMaxWindowBits: false },
  { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9 }
];

const PMD_HEADERS = [
  'permessage-deflate',
  'permessage-deflate; client_max_window_bits',
  'permessage-deflate; client_max_window_bits=10',
  'permessage-deflate; client_max_window_bits=0x0b',
  'permessage-deflate; client_max_window_bits=16',
  'permessage-deflate; server_max_window_bits=9, permessage-deflate; client_max_window_bits=13',
  'permessage-deflate; server_max_window_bits=15',
  'permessage-deflate; server_max_window_bits',
  'permessage-deflate; server_max_window_bits=010',
  'permessage-deflate; server_no_context_takeover',
  'permessage-deflate; client_no_context_takeover',
  'permessage-deflate; server_no_context_takeover=1',
  'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
  'permessage-deflate; foo',
  'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12'
];

test('PerMessageDeflate: offer, accept and normalizeParams decide as ws, in both roles', () => {
  let cases = 0;
  for (const isServer of [true, false]) {
    for (const options of PMD_OPTIONS) {
      same((lib) => new lib.PerMessageDeflate({ ...options, isServer }).offer(), `offer ${JSON.stringify(options)}`);
      for (const h of PMD_HEADERS) {
        const what = `${isServer ? 'server' : 'client'} ${JSON.stringify(options)} ${h}`;
        same((lib) => {
          const pmd = new lib.PerMessageDeflate({ ...options, isServer });
          const accepted = pmd.accept(ws.extension.parse(h)['permessage-deflate']);
          return [accepted, pmd.params];
        }, what);
        same((lib) => {
          const pmd = new lib.PerMessageDeflate({ ...options, isServer });
          return pmd.normalizeParams(ws.extension.parse(h)['permessage-deflate']);
        }, `normalize ${what}`);
        cases++;
      }
    }
  }
  assert.strictEqual(cases, 2 * PMD_OPTIONS.length * PMD_HEADERS.length);
});

/** Feeds `chunks` to a Receiver of `lib` and records what it emits, in order. */
function receive(lib, options, chunks, makeOptions) {
  return new Promise((resolve) => {
    const log = [];
    const opts = makeOptions ? makeOptions(lib, options) : options;
    const r = new lib.Receiver(opts);
    const show = (d) => {
      if (Array.isArray(d)) return d.map((b) => b.toString('hex'));
      if (d instanceof ArrayBuffer) return `ab:${Buffer.from(d).toString('hex')}`;
      return Buffer.isBuffer(d) ? d.toString('hex') : String(d);
    };
    r.on('message', (d, binary) => log.push(['message', show(d), binary]));
    r.on('ping', (d) => log.push(['ping', show(d)]));
    r.on('pong', (d) => log.push(['pong', show(d)]));
    r.on('conclude', (code, reason) => log.push(['conclude', code, show(reason)]));
    r.on('error', (e) => log.push(['error', e.constructor.name, e.message, e.code]));
    r.on('finish', () => log.push(['finish']));
    let i = 0;
    const next = () => {
      if (i >= chunks.length || r.destroyed) {
        setTimeout(() => resolve(log), 10);
        return;
      }
      r.write(Buffer.from(chunks[i++]), () => setImmediate(next));
    };
    next();
  });
}

/** Cuts `buf` at seeded random places. */
function split(buf, seed) {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const out = [];
  let at = 0;
  while (at < buf.length) {
    const n = 1 + Math.floor(rand() * Math.min(12, buf.length - at));
    out.push(buf.subarray(at, at + n));
    at += n;
  }
  return out;
}

const f = (opcode, payload, o = {}) => frame({ opcode, payload: Buffer.from(payload), ...o });
const cont = (payload) => f(0, payload, { fin: false });

const RECEIVER_CASES = [
  [{ isServer: true }, [f(1, 'hi'), f(2, 'ab', { fin: false }), f(9, 'p'), cont(''), f(0, 'cd'), f(10, 'q'), f(8, Buffer.from([3, 232, 0x62, 0x79]))]],
  [{ isServer: true, binaryType: 'fragments' }, [f(2, 'ab', { fin: false }), cont(''), cont('cd'), f(0, 'e'), f(2, ''), f(2, 'x'), f(2, '', { fin: false }), f(0, '')]],
  [{ isServer: true, binaryType: 'arraybuffer' }, [f(2, 'abc'), f(2, 'a', { fin: false }), f(0, 'b')]],
  [{ isServer: true }, [f(2, 'abc', { mask: false })]],
  [{ isServer: false }, [f(2, 'abc', { mask: false }), f(3, 'x', { mask: false })]],
  [{ isServer: true, maxPayload: 3 }, [f(2, 'abc'), f(2, 'abcd')]],
  [{ isServer: true, maxFragments: 2 }, [f(2, 'a', { fin: false }), cont('b'), f(0, 'c')]],
  [{ isServer: true }, [f(1, Buffer.from([0xff]))]],
  [{ isServer: true }, [f(1, Buffer.from([0xe2, 0x82]), { fin: false }), f(0, Buffer.from([0xac]))]],
  [{ isServer: true }, [f(8, Buffer.from([3, 231]))]],
  [{ isServer: true }, [f(8, Buffer.from([3, 232, 0xff]))]],
  [{ isServer: true }, [f(8, ''), f(1, 'after')]],
  [{ isServer: true }, [f(9, 'x', { fin: false })]],
  [{ isServer: true }, [f(9, Buffer.alloc(126))]],
  [{ isServer: true }, [f(1, 'a', { rsv: 4 })]],
  [{ isServer: true }, [f(1, 'a', { rsv: 2 })]],
  [{ isServer: true }, [f(0, 'a')]],
  [{ isServer: true }, [f(1, 'a', { fin: false }), f(1, 'b')]],
  [{ isServer: true, skipUTF8Validation: true }, [f(1, Buffer.from([0xff]))]],
  [{ isServer: true }, [f(2, Buffer.alloc(300, 7)), f(2, Buffer.alloc(70000, 1))]]
];

test('Receiver: same events and errors as ws, whole and in random chunks', async () => {
  for (const [options, frames] of RECEIVER_CASES) {
    const bytes = Buffer.concat(frames);
    for (const seed of [0, 1, 2, 3]) {
      const chunks = seed === 0 ? [bytes] : split(bytes, seed);
      const [a, b] = await Promise.all(LIBS.map((lib) => receive(lib, options, chunks.map((c) => Buffer.from(c)))));
      assert.deepStrictEqual(b, a, `${JSON.stringify(options)} seed ${seed}`);
    }
  }
});

test('Receiver: allowSynchronousEvents false spreads events over macrotasks as ws', async () => {
  const bytes = Buffer.concat([f(1, 'a'), f(9, 'b'), f(2, 'c')]);
  const order = async (lib) => {
    const seen = [];
    const r = new lib.Receiver({ isServer: true, allowSynchronousEvents: false });
    for (const e of ['message', 'ping']) r.on(e, () => seen.push(e));
    await new Promise((resolve) => r.write(Buffer.from(bytes), resolve));
    return seen;
  };
  const [a, b] = await Promise.all(LIBS.map(order));
  assert.deepStrictEqual(b, a);
  assert.deepStrictEqual(b, ['message', 'ping', 'message']);
});

test('Receiver: maxBufferedChunks counts chunks of an unfinished frame step as ws', async () => {
  const bytes = f(2, 'hello world');
  for (const max of [1, 2, 3, 5]) {
    for (const seed of [1, 2, 3, 4, 5]) {
      const chunks = split(bytes, seed);
      const [a, b] = await Promise.all(
        LIBS.map((lib) => receive(lib, { isServer: true, maxBufferedChunks: max }, chunks.map((c) => Buffer.from(c))))
      );
      assert.deepStrictEqual(b, a, `max ${max} seed ${seed}`);
    }
  }
  // Byte by byte: one buffered chunk too many fails with ws's error.
  const bytewise = [...bytes].map((x) => Buffer.from([x]));
  const [a, b] = await Promise.all(LIBS.map((lib) => receive(lib, { isServer: true, maxBufferedChunks: 3 }, bytewise)));
  assert.deepStrictEqual(b, a);
  assert.deepStrictEqual(b[b.length - 1], ['error', 'RangeError', 'Too many buffered chunks', 'WS_ERR_TOO_MANY_BUFFERED_PARTS']);
});

/** A permessage-deflate message as a client sends it (RFC 7692 §7.2.1, tail removed). */
function deflated(text) {
  const z = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return z.subarray(0, z.length - 4);
}

test('Receiver with an accepted PerMessageDeflate inflates as ws', async () => {
  const withDeflate = (lib, options) => {
    const pmd = new lib.PerMessageDeflate({ isServer: true });
    pmd.accept(ws.extension.parse('permessage-deflate; client_max_window_bits')['permessage-deflate']);
    return { ...options, extensions: { [lib.PerMessageDeflate.extensionName]: pmd } };
  };
  const frames = [
    f(1, deflated('hello hello hello'), { rsv: 4 }),
    f(2, deflated('binary!'), { rsv: 4 }),
    f(1, 'plain'),
    f(1, Buffer.from([1, 2, 3, 4, 5]), { rsv: 4 })
  ];
  const bytes = Buffer.concat(frames);
  for (const seed of [0, 7]) {
    const chunks = seed === 0 ? [bytes] : split(bytes, seed);
    const [a, b] = await Promise.all(
      LIBS.map((lib) => receive(lib, { isServer: true }, chunks.map((c) => Buffer.from(c)), withDeflate))
    );
    assert.deepStrictEqual(b.slice(0, 3), a.slice(0, 3), `seed ${seed}`);
    // The corrupt message fails in both; zlib's wording is not the point here.
    assert.strictEqual(b[3][0], 'error');
    assert.strictEqual(a[3][0], 'error');
  }
});

test("binaryType 'fragments' on a WebSocket: one Buffer per non-empty frame, as ws", async () => {
  const observe = async (lib) => {
    const wss = await listen(lib);
    const client = new lib.WebSocket(url(wss));
    client.binaryType = 'fragments';
    const [server] = await once(wss, 'connection');
    const got = [];
    client.on('message', (data, isBinary) => got.push([data.map((b) => b.toString()), isBinary]));
    // Raw frames from the server's socket: fragments, an empty frame, a single frame.
    const raw = (o) => frame({ ...o, mask: false });
    server._socket.write(
      Buffer.concat([
        raw({ opcode: 2, fin: false, payload: Buffer.from('ab') }),
        raw({ opcode: 0, fin: false, payload: Buffer.alloc(0) }),
        raw({ opcode: 0, fin: true, payload: Buffer.from('cde') }),
        raw({ opcode: 2, payload: Buffer.from('one') }),
        raw({ opcode: 2, payload: Buffer.alloc(0) })
      ])
    );
    await within(new Promise((resolve) => {
      const t = setInterval(() => got.length === 3 && (clearInterval(t), resolve()), 5);
    }), 3000, 'messages');
    client.terminate();
    await closeServer(wss);
    return got;
  };
  const [a, b] = [await observe(ws), await observe(ferrosocket)];
  assert.deepStrictEqual(b, a);
  assert.deepStrictEqual(b, [[['ab', 'cde'], true], [['one'], true], [[], true]]);
});

test('maxBufferedChunks is honoured by a WebSocketServer as ws (1008)', async () => {
  const observe = async (lib) => {
    const wss = await listen(lib, { maxBufferedChunks: 4 });
    const net = require('net');
    const crypto = require('crypto');
    const [code, error] = await within(new Promise((resolve) => {
      wss.on('connection', (sock) => {
        let error = null;
        sock.on('error', (e) => (error = [e.message, e.code]));
        sock.on('close', (c) => resolve([c, error]));
      });
      const s = net.connect(wss.address().port, '127.0.0.1', () => {
        s.setNoDelay(true);
        const key = crypto.randomBytes(16).toString('base64');
        s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
      });
      s.once('data', async () => {
        // The server's close frame (after the error): hang up, as a dead peer would.
        s.on('data', () => s.destroy());
        // 40 one-byte chunks: only 5 of them need to arrive apart.
        const bytes = frame({ opcode: 2, payload: Buffer.alloc(40, 0x61) });
        s.write(bytes.subarray(0, 6));
        for (let i = 6; i < bytes.length; i++) {
          await new Promise((r) => setTimeout(r, 10));
          if (!s.destroyed) s.write(bytes.subarray(i, i + 1));
        }
      });
      s.on('error', () => {});
      s.on('close', () => {});
    }), 5000, 'close');
    await closeServer(wss);
    return [code, error];
  };
  const [a, b] = [await observe(ws), await observe(ferrosocket)];
  assert.deepStrictEqual(b, a);
  assert.deepStrictEqual(b, [1006, ['Too many buffered chunks', 'WS_ERR_TOO_MANY_BUFFERED_PARTS']]);
});
