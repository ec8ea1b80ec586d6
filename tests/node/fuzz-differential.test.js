'use strict';

// Differential fuzzing against ws. From a seed, each iteration generates a byte stream
// (valid frames, mutated frames, cut into random chunks) and a random schedule of
// send/ping/pong/close/terminate calls (made when the endpoint's n-th event arrives),
// then plays it against a ws server and a ferrosocket server over loopback, a raw
// `net` client on the other side. What a user observes must be equal: the events in
// order with their arguments, thrown errors, send callbacks, error codes and messages,
// close codes, and the bytes written back.
//
// FUZZ_ITERATIONS (default 40) and FUZZ_SEED (default 1) set the run; a mismatch
// fails with its seed and iteration, so it can be replayed alone
// (FUZZ_SEED=<seed> FUZZ_ONLY=<iteration>).

const test = require('node:test');
const assert = require('node:assert');
const net = require('net');
const crypto = require('crypto');

const { ws, ferrosocket, listen, closeServer } = require('./helpers');

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS || 40);
const SEED = Number(process.env.FUZZ_SEED || 1);
const ONLY = process.env.FUZZ_ONLY !== undefined ? Number(process.env.FUZZ_ONLY) : null;

/** mulberry32: a small seeded PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const r = {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick: (list) => list[Math.floor(next() * list.length)],
    bytes: (n) => {
      const b = Buffer.alloc(n);
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256);
      return b;
    }
  };
  return r;
}

const WORDS = ['a', 'hello', 'ünïcödé', '€', '𝄞', 'x'.repeat(50), ' ', '日本'];

function text(r, max = 40) {
  let s = '';
  const n = r.int(max);
  for (let i = 0; i < n; i++) s += r.pick(WORDS);
  return Buffer.from(s);
}

function payload(r) {
  const size = r.pick([0, 1, 5, 125, 126, 200, 1000, 65535, 65536, 70000]);
  return r.chance(0.5) ? r.bytes(Math.min(size, 2000)) : Buffer.alloc(size, r.int(256));
}

/** One client frame: masked unless asked otherwise. */
function encode({ fin = true, rsv = 0, opcode, data = Buffer.alloc(0), mask = true }, r) {
  const len = data.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else head.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  if (!mask) return Buffer.concat([Buffer.from(head), data]);
  const key = r.bytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, masked]);
}

const CLOSE_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1011, 1012, 3000, 4999, 0, 999, 1004, 1005, 1006, 1016, 2999, 5000];

function closePayload(r) {
  const k = r.int(6);
  if (k === 0) return Buffer.alloc(0);
  if (k === 1) return Buffer.from([0x03]);
  const code = Buffer.alloc(2);
  code.writeUInt16BE(r.pick(CLOSE_CODES));
  if (k === 2) return Buffer.concat([code, Buffer.from([0xff, 0xfe])]);
  return Buffer.concat([code, text(r, 4).subarray(0, 100)]);
}

/** A list of frames: mostly valid traffic, some violations. */
function frames(r) {
  const out = [];
  const n = 1 + r.int(8);
  for (let i = 0; i < n; i++) {
    const k = r.int(20);
    if (k < 5) out.push({ opcode: 1, data: text(r) });
    else if (k < 8) out.push({ opcode: 2, data: payload(r) });
    else if (k < 10) out.push({ opcode: r.pick([9, 10]), data: r.bytes(r.pick([0, 3, 125])) });
    else if (k < 12) {
      // A fragmented message, sometimes with a ping in the middle or cut UTF-8.
      const opcode = r.pick([1, 2]);
      const whole = opcode === 1 ? text(r, 20) : payload(r);
      const parts = 2 + r.int(3);
      let at = 0;
      for (let p = 0; p < parts; p++) {
        const end = p === parts - 1 ? whole.length : Math.min(whole.length, at + r.int(whole.length + 1));
        out.push({ opcode: p === 0 ? opcode : 0, fin: p === parts - 1, data: whole.subarray(at, end) });
        at = end;
        if (r.chance(0.3)) out.push({ opcode: 9, data: r.bytes(2) });
      }
    } else if (k < 13) out.push({ opcode: 8, data: closePayload(r) });
    else if (k < 14) out.push({ opcode: r.pick([3, 4, 5, 6, 7, 11, 12, 15]), data: r.bytes(r.int(4)) });
    else if (k < 15) out.push({ opcode: 1, data: Buffer.from([0xc3, 0x28]) });
    else if (k < 16) out.push({ opcode: r.pick([1, 2, 9]), rsv: r.pick([1, 2, 4]), data: r.bytes(2) });
    else if (k < 17) out.push({ opcode: r.pick([1, 9]), data: Buffer.from('nomask'), mask: false });
    else if (k < 18) out.push({ opcode: 0, data: r.bytes(3) });
    else if (k < 19) out.push({ opcode: 9, fin: false, data: Buffer.alloc(0) });
    else out.push({ opcode: 9, data: r.bytes(126) });
  }
  return out;
}

/** The bytes the raw client sends, with a mutation now and then. */
function stream(r) {
  const parts = frames(r).map((f) => encode(f, r));
  if (r.chance(0.15)) {
    // Flip a bit somewhere in one frame's first bytes (header or mask or payload).
    const p = parts[r.int(parts.length)];
    const i = r.int(Math.min(p.length, 16));
    p[i] ^= 1 << r.int(8);
  }
  let bytes = Buffer.concat(parts);
  if (r.chance(0.1)) bytes = bytes.subarray(0, r.int(bytes.length + 1));
  return bytes;
}

function chunks(r, bytes) {
  const out = [];
  let at = 0;
  const mode = r.int(3);
  while (at < bytes.length) {
    const n = mode === 0 ? bytes.length : mode === 1 ? 1 + r.int(7) : 1 + r.int(4096);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** What the endpoint does: a list of actions per event number (0 = on connection). */
function schedule(r) {
  const plan = new Map();
  const n = r.int(6);
  for (let i = 0; i < n; i++) {
    const at = r.int(6);
    const k = r.int(16);
    let action;
    if (k < 5) action = ['send', r.chance(0.5) ? text(r, 10).toString() : r.bytes(r.pick([0, 10, 200, 70000]))];
    else if (k < 7) action = ['ping', r.bytes(r.pick([0, 4, 125, 126]))];
    else if (k < 8) action = ['pong', r.bytes(4)];
    else if (k < 12) {
      const code = r.chance(0.2) ? undefined : r.pick([1000, 1001, 3000, 4000, 1005, 999, 1004]);
      action = ['close', code, r.chance(0.5) ? r.pick(['bye', 'ü', 'x'.repeat(124)]) : undefined];
    } else if (k < 13) action = ['terminate'];
    else if (k < 14) action = ['send-fragment', text(r, 4).toString()];
    else if (k < 15) action = ['pause-resume'];
    else action = ['send', '', { binary: r.chance(0.5) }];
    if (!plan.has(at)) plan.set(at, []);
    plan.get(at).push(action);
  }
  // terminate() drops what the kernel has not taken yet, which depends on timing (in ws
  // as here): with it in the plan, sends stay small enough to be taken at once.
  const all = [...plan.values()].flat();
  if (all.some((a) => a[0] === 'terminate')) {
    for (const a of all) if (a[0] === 'send' && a[1].length > 2000) a[1] = a[1].subarray(0, 2000);
  }
  return plan;
}

function hex(b) {
  return Buffer.isBuffer(b) ? b.toString('hex') : String(b);
}

function short(b) {
  const h = hex(b);
  return h.length > 80 ? `${h.slice(0, 80)}…(${b.length})` : h;
}

/** Parses what the server wrote (unmasked frames) into comparable entries. */
function parseFrames(buf) {
  const out = [];
  let at = 0;
  while (at + 2 <= buf.length) {
    let len = buf[at + 1] & 0x7f;
    let off = at + 2;
    if (len === 126) {
      if (off + 2 > buf.length) break;
      len = buf.readUInt16BE(off);
      off += 2;
    } else if (len === 127) {
      if (off + 8 > buf.length) break;
      len = Number(buf.readBigUInt64BE(off));
      off += 8;
    }
    if (buf[at + 1] & 0x80) off += 4;
    if (off + len > buf.length) break;
    out.push([buf[at] & 0xf0, buf[at] & 0x0f, short(buf.subarray(off, off + len))]);
    at = off + len;
  }
  if (at < buf.length) out.push(['rest', short(buf.subarray(at))]);
  return out;
}

function errorOf(e) {
  return [e.constructor.name, e.message, e.code === undefined ? null : e.code];
}

/** Runs one scenario against a server of `lib`; resolves with what was observed. */
function play(lib, wss, scenario) {
  const { chunks: parts, plan } = scenario;
  const events = [];
  const callbacks = [];
  let n = 0;
  let cbId = 0;
  return new Promise((resolve) => {
    let written = Buffer.alloc(0);
    let serverClosed = false;
    let clientClosed = false;
    const finish = () => {
      if (!serverClosed || !clientClosed) return;
      callbacks.sort((a, b) => a[0] - b[0]);
      // After terminate(), what else is parsed depends on where TCP cut the input (in
      // ws as here: the rest of the chunk being parsed, nothing of later chunks).
      const t = events.findIndex((e) => e[0] === 'terminate()');
      const seen = t === -1 ? events : events.slice(0, t + 1).concat(events.slice(t + 1).filter((e) => e[0] === 'close'));
      resolve({ events: seen, callbacks, written: parseFrames(written) });
    };
    wss.once('connection', (sock) => {
      const act = (list) => {
        for (const [kind, a, b] of list || []) {
          const id = cbId++;
          const cb = (err) => callbacks.push([id, err ? err.message : null]);
          try {
            if (kind === 'send') sock.send(a, b || {}, cb);
            else if (kind === 'send-fragment') {
              sock.send(a, { fin: false }, cb);
              sock.send(a, { fin: true }, () => {});
            } else if (kind === 'ping') sock.ping(a, undefined, cb);
            else if (kind === 'pong') sock.pong(a, undefined, cb);
            else if (kind === 'close') sock.close(a, b);
            else if (kind === 'terminate') {
              events.push(['terminate()']);
              sock.terminate();
            }
            else if (kind === 'pause-resume') {
              sock.pause();
              setTimeout(() => sock.resume(), 10);
            }
          } catch (e) {
            events.push(['threw', kind, ...errorOf(e)]);
          }
        }
      };
      sock.on('message', (data, isBinary) => {
        events.push(['message', isBinary, short(data)]);
        act(plan.get(++n));
      });
      sock.on('ping', (data) => {
        events.push(['ping', short(data)]);
        act(plan.get(++n));
      });
      sock.on('pong', (data) => {
        events.push(['pong', short(data)]);
        act(plan.get(++n));
      });
      sock.on('error', (e) => events.push(['error', ...errorOf(e), serverClosed ? 'after close' : '']));
      sock.on('close', (code, reason) => {
        events.push(['close', code, hex(reason)]);
        serverClosed = true;
        finish();
      });
      act(plan.get(0));
    });
    const client = net.connect(wss.address().port, '127.0.0.1');
    client.setNoDelay(true);
    let head = '';
    let idle = null;
    let sentAll = false;
    const quiet = () => {
      sentAll = true;
      clearTimeout(idle);
      // The server has said what it will: hang up (a FIN, as a peer that is done).
      idle = setTimeout(() => client.end(), 60);
    };
    client.on('error', () => {});
    client.on('close', () => {
      clearTimeout(idle);
      clientClosed = true;
      finish();
    });
    client.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      client.write(
        `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`
      );
    });
    client.on('data', (chunk) => {
      if (head !== null) {
        head += chunk.toString('latin1');
        const i = head.indexOf('\r\n\r\n');
        if (i === -1) return;
        const rest = Buffer.from(head.slice(i + 4), 'latin1');
        head = null;
        written = Buffer.concat([written, rest]);
        let k = 0;
        const next = () => {
          if (k >= parts.length || client.destroyed) {
            quiet();
            return;
          }
          client.write(parts[k++], () => setImmediate(next));
        };
        next();
        return;
      }
      written = Buffer.concat([written, chunk]);
      if (sentAll) quiet();
    });
  });
}

function describePlan(plan) {
  const show = (x) => (Buffer.isBuffer(x) ? `<${x.length} bytes>` : typeof x === 'string' && x.length > 20 ? `<${x.length} chars>` : x);
  return JSON.stringify([...plan].map(([at, list]) => [at, list.map((a) => a.map(show))]));
}

function scenarioOf(seed, iteration) {
  const r = prng(seed * 1000003 + iteration);
  const bytes = stream(r);
  return { bytes, chunks: chunks(r, bytes), plan: schedule(r) };
}

/**
 * A mismatch that a documented difference explains (npm/README.md, "Known differences"),
 * or null. Only one: invalid UTF-8 in a fragmented text message fails as soon as the
 * received prefix cannot be valid (RFC 6455 §8.1, Autobahn 6.4), where ws reads on to the
 * end of the message first (answering pings in between, or finding another error there).
 */
function explained(ws, ours) {
  const at = ours.events.findIndex((e) => e[0] === 'error');
  if (at === -1 || ours.events[at][3] !== 'WS_ERR_INVALID_UTF8') return null;
  const before = ours.events.slice(0, at);
  if (JSON.stringify(ws.events.slice(0, at)) !== JSON.stringify(before)) return null;
  const later = ws.events.slice(at);
  if (!later.every((e) => ['ping', 'pong', 'error', 'close'].includes(e[0]))) return null;
  if (later.filter((e) => e[0] === 'error').length !== 1) return null;
  return 'UTF-8 fail-fast';
}

const OPTIONS = { maxPayload: 64 * 1024, closeTimeout: 150 };

test(`differential fuzz against ws: seed ${SEED}, ${ITERATIONS} iterations`, async (t) => {
  const servers = await Promise.all([listen(ws, OPTIONS), listen(ferrosocket, OPTIONS)]);
  const started = Date.now();
  let compared = 0;
  const known = new Map();
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      if (ONLY !== null && i !== ONLY) continue;
      const scenario = scenarioOf(SEED, i);
      // Each endpoint gets its own copy: receiving unmasks in place.
      const [a, b] = await Promise.all(
        servers.map((wss) =>
          play(wss === servers[0] ? ws : ferrosocket, wss, {
            chunks: scenario.chunks.map((c) => Buffer.from(c)),
            plan: scenario.plan
          })
        )
      );
      const why = JSON.stringify(a) === JSON.stringify(b) ? null : explained(a, b);
      if (why !== null) {
        known.set(why, (known.get(why) || 0) + 1);
        continue;
      }
      assert.deepStrictEqual(
        b,
        a,
        `seed ${SEED} iteration ${i} (replay: FUZZ_SEED=${SEED} FUZZ_ONLY=${i}); ` +
          `input ${short(scenario.bytes)}; plan ${describePlan(scenario.plan)}`
      );
      compared++;
    }
  } finally {
    await Promise.all(servers.map(closeServer));
  }
  const differences = [...known].map(([why, n]) => `${n} ${why}`).join(', ') || 'none';
  t.diagnostic(
    `fuzz: ${compared} scenarios equal to ws, documented differences: ${differences}; ` +
      `${Date.now() - started} ms (seed ${SEED})`
  );
});
