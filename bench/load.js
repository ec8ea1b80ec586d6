'use strict';

// Load generator (its own process, started by bench/run.js). Raw TCP clients with
// pre-masked frames and byte counting, so the generator costs as little as possible
// and measures the server. Scenarios: echo, handshakes (both in the Rust generator),
// idle, deflate.

const { execFile } = require('child_process');
const crypto = require('crypto');
const zlib = require('zlib');

const { connect } = require('./raw-client');

// Echo and handshakes run in the Rust generator (crates/core/examples/load_generator.rs,
// a child of this process, so on the same pinned core): per message it costs a
// fraction of what a Node client does, so the servers are measured, not the generator.
// run.js builds it and passes its path.
function generator(args) {
  return new Promise((resolve, reject) => {
    execFile(process.env.FERROSOCKET_LOAD_GENERATOR, args.map(String), { timeout: 120000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`load_generator ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

function echo({ port, conns, size, window, seconds }) {
  return generator(['echo', '--port', port, '--conns', conns, '--size', size, '--window', window, '--seconds', seconds]);
}

function handshakes({ port, total, concurrency }) {
  return generator(['handshakes', '--port', port, '--total', total, '--concurrency', concurrency]);
}

const idle = [];
async function openIdle({ port, count, concurrency }) {
  let started = 0;
  async function worker() {
    while (started < count) {
      started++;
      const { socket } = await connect(port);
      socket.on('error', () => {});
      idle.push(socket);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { open: idle.length };
}

function closeIdle() {
  for (const s of idle) s.destroy();
  idle.length = 0;
  return {};
}

// Deflate: connections that negotiate permessage-deflate as a browser or ws does by
// default, then exchange ~1 KiB JSON messages (compressed, RSV1) with the server's
// echo. Opened first, then started and stopped by run.js, which measures the
// server's memory and CPU while they are busy.
const DEFLATE_OFFER = 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n';

/** A masked, compressed text frame of `text` (compressed on its own: valid with or
 * without context takeover, RFC 7692 §7.2.1). */
function deflatedFrame(text) {
  const z = zlib.deflateRawSync(Buffer.from(text), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const payload = z.subarray(0, z.length - 4);
  const size = payload.length;
  const head = size < 126 ? Buffer.from([0xc1, 0x80 | size]) : Buffer.from([0xc1, 0x80 | 126, size >> 8, size & 0xff]);
  const key = crypto.randomBytes(4);
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([head, key, body]);
}

/** ~1 KiB of JSON (over ws's 1024-byte threshold, so the replies are compressed too). */
function jsonMessage(i) {
  const items = [];
  for (let k = 0; items.join(',').length < 1000; k++) {
    items.push(JSON.stringify({ id: i * 100 + k, user: `user${(i * 7 + k) % 97}`, score: (i * 31 + k * 17) % 1000, tags: ['a', 'b', 'c'].slice(0, 1 + (k % 3)) }));
  }
  return `{"type":"update","seq":${i},"items":[${items.join(',')}]}`;
}

/** Counts the frames in a server's stream (unmasked frames, any length). */
function frameCounter(onFrame) {
  let skip = 0;
  let partial = null;
  return (chunk) => {
    let buf = partial ? Buffer.concat([partial, chunk]) : chunk;
    partial = null;
    let i = 0;
    while (i < buf.length) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length - i);
        skip -= n;
        i += n;
        if (skip === 0) onFrame();
        continue;
      }
      if (buf.length - i < 2) break;
      const b1 = buf[i + 1] & 0x7f;
      const hl = b1 < 126 ? 2 : b1 === 126 ? 4 : 10;
      if (buf.length - i < hl) break;
      const len = b1 < 126 ? b1 : b1 === 126 ? buf.readUInt16BE(i + 2) : Number(buf.readBigUInt64BE(i + 2));
      i += hl;
      if (len === 0) onFrame();
      else skip = len;
    }
    if (i < buf.length) partial = Buffer.from(buf.subarray(i));
  };
}

const deflate = { sockets: [], frames: [], running: false, done: 0 };

async function deflateOpen({ port, conns }) {
  deflate.frames = Array.from({ length: 16 }, (_, i) => deflatedFrame(jsonMessage(i)));
  deflate.size = jsonMessage(0).length;
  for (let i = 0; i < conns; i++) deflate.sockets.push(await connect(port, DEFLATE_OFFER));
  return { open: deflate.sockets.length, messageBytes: deflate.size };
}

/** Every open connection keeps `window` messages in flight until deflateStop. */
function deflateStart({ window }) {
  deflate.running = true;
  deflate.done = 0;
  const frames = deflate.frames;
  deflate.sockets.forEach((c, n) => {
    if (c.next === undefined) {
      c.next = n;
      c.socket.on('error', () => {});
      c.socket.on(
        'data',
        frameCounter(() => {
          deflate.done++;
          if (deflate.running) c.socket.write(frames[c.next++ & 15]);
        })
      );
    }
    for (let i = 0; i < window; i++) c.socket.write(frames[c.next++ & 15]);
  });
  return { started: deflate.sockets.length };
}

/** Stops sending (the connections stay open); returns the messages echoed. */
function deflateStop() {
  deflate.running = false;
  return { messages: deflate.done };
}

function deflateClose() {
  for (const { socket } of deflate.sockets) socket.destroy();
  deflate.sockets = [];
  return {};
}

const scenarios = { echo, handshakes, openIdle, closeIdle, deflateOpen, deflateStart, deflateStop, deflateClose };

process.on('message', async (msg) => {
  try {
    const result = await scenarios[msg.scenario](msg);
    process.send({ result });
  } catch (err) {
    process.send({ error: String(err && err.stack) });
  }
});
