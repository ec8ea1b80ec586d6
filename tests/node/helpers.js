'use strict';

// Shared helpers of the Node tests: the two implementations under comparison,
// servers on 127.0.0.1:0, raw frames, and bounded waits.

const net = require('net');
const path = require('path');
const crypto = require('crypto');

const ferrosocket = require('../../npm');
const ws = require(path.join(__dirname, '../../npm/node_modules/ws'));

const LIBS = { ws, ferrosocket };

/** Runs `fn` against ws and ferrosocket (as the side under test). */
function both(fn) {
  return Promise.all([fn(ws, 'ws'), fn(ferrosocket, 'ferrosocket')]);
}

/** A WebSocketServer of `lib` listening on 127.0.0.1:0. */
function listen(lib, options = {}) {
  return new Promise((resolve, reject) => {
    const wss = new lib.WebSocketServer(
      { host: '127.0.0.1', port: 0, ...options },
      () => resolve(wss)
    );
    wss.on('error', reject);
  });
}

function url(wss, p = '') {
  return `ws://127.0.0.1:${wss.address().port}${p}`;
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, (...args) => resolve(args)));
}

function closeServer(wss) {
  return new Promise((resolve) => {
    if (wss.clients) for (const c of wss.clients) c.terminate();
    wss.close(() => resolve());
  });
}

/**
 * Resolves with ['server close', code] once the first connection of `wss` closes. A
 * raw client's close and the server's race (each side ends once it sees the other's
 * FIN), so a test that logs both awaits this before it closes the server.
 */
function firstClose(wss) {
  return new Promise((resolve) => {
    wss.once('connection', (sock) => sock.once('close', (code) => resolve(['server close', code])));
  });
}

/** Resolves with `p`, or rejects after `ms`. */
function within(p, ms = 5000, what = 'operation') {
  let t;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    })
  ]).finally(() => clearTimeout(t));
}

/** `size` characters of JSON-like text: compressible, not one repeated byte. */
function jsonText(size, seed = 1) {
  const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'kappa', 'sigma', 'zeta'];
  const parts = [];
  let x = seed >>> 0 || 1;
  let len = 0;
  while (len < size) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const s = `{"${words[x & 7]}":${x % 100000},"${words[(x >>> 3) & 7]}":"${x.toString(36)}"},`;
    parts.push(s);
    len += s.length;
  }
  return parts.join('').slice(0, size);
}


/** Encodes one frame (test-side, to produce malformed input on purpose). */
function frame({ fin = true, rsv = 0, opcode, payload = Buffer.alloc(0), mask = true }) {
  payload = Buffer.from(payload);
  const len = payload.length;
  const head = [((fin ? 0x80 : 0) | (rsv << 4) | opcode) & 0xff];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 0xff);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = crypto.randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/** Parses the first frame of `buf` (unmasked, server to client): { opcode, payload }. */
function parseFrame(buf) {
  if (buf.length < 2) return null;
  let len = buf[1] & 0x7f;
  let off = 2;
  if (len === 126) {
    len = buf.readUInt16BE(2);
    off = 4;
  } else if (len === 127) {
    len = Number(buf.readBigUInt64BE(2));
    off = 10;
  }
  if (buf[1] & 0x80) off += 4;
  if (buf.length < off + len) return null;
  return { opcode: buf[0] & 0x0f, payload: buf.subarray(off, off + len), size: off + len };
}

/**
 * Opens a raw TCP client, does the upgrade, then resolves with
 * { socket, frames() } where `frames` collects the frames the server sends.
 */
function rawClient(port, extraHeaders = '', target = '/') {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const key = crypto.randomBytes(16).toString('base64');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const received = [];
    let ended = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      ended = true;
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const i = buf.indexOf('\r\n\r\n');
        if (i === -1) return;
        const head = buf.subarray(0, i).toString();
        buf = buf.subarray(i + 4);
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(head));
          return;
        }
        upgraded = true;
        resolve({ socket, received, isClosed: () => ended });
      }
      let f;
      while ((f = parseFrame(buf))) {
        received.push({ opcode: f.opcode, payload: Buffer.from(f.payload) });
        buf = buf.subarray(f.size);
      }
    });
    socket.write(
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        `Sec-WebSocket-Key: ${key}\r\n${extraHeaders}\r\n`
    );
  });
}

/**
 * A raw TCP "server" that answers the upgrade correctly and then writes
 * `bytes` to the client. Resolves with { port, close, received }.
 */
function rawServer(bytes, { accept } = {}) {
  return new Promise((resolve) => {
    const sockets = new Set();
    const received = [];
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      let head = '';
      socket.on('data', function onData(chunk) {
        if (head !== null) {
          head += chunk.toString('latin1');
          const i = head.indexOf('\r\n\r\n');
          if (i === -1) return;
          const key = /sec-websocket-key: *(\S+)/i.exec(head)[1];
          const acc =
            accept ||
            crypto
              .createHash('sha1')
              .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
              .digest('base64');
          head = null;
          socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
              `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\n\r\n`
          );
          if (bytes) socket.write(bytes);
          return;
        }
        received.push(chunk);
      });
    });
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        received,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          })
      });
    });
  });
}

function errorInfo(err) {
  return {
    class: err && err.constructor && err.constructor.name,
    message: err && err.message,
    code: err && err.code
  };
}

function thrown(fn) {
  try {
    fn();
    return null;
  } catch (err) {
    return errorInfo(err);
  }
}

/** Polls `cond` every 10 ms; rejects when it does not hold within `ms`. */
async function waitFor(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

module.exports = {
  LIBS,
  both,
  closeServer,
  errorInfo,
  firstClose,
  frame,
  jsonText,
  listen,
  once,
  parseFrame,
  rawClient,
  rawServer,
  thrown,
  url,
  waitFor,
  within,
  ws,
  ferrosocket
};
