'use strict';
// Shared pieces of the browser tests: Debian Chromium through playwright-core, a static server
// for pkg/ and a test page, and a raw WebSocket server whose misbehaviour the tests control
// (close frames without a TCP teardown, handshakes followed by a crash).
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const { chromium } = require(path.join(root, 'www', 'node_modules', 'playwright-core'));

function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import init, { ReconnectingWebSocket } from '/pkg/index.js';
window.wasm = await init();
window.ReconnectingWebSocket = ReconnectingWebSocket;
window.ready = true;
</script>`;

/** Serves pkg/ and the test page on 127.0.0.1:0; `upgrade(req, socket, head)` gets upgrades. */
async function pageServer(upgrade) {
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (rel === '/') return res.end(PAGE);
    if (rel === '/favicon.ico') { res.statusCode = 204; return res.end(); }
    const file = path.normalize(path.join(root, rel));
    if (!rel.startsWith('/pkg/') || !file.startsWith(path.join(root, 'pkg'))) { res.statusCode = 404; return res.end(); }
    fs.readFile(file, (err, body) => {
      if (err) { res.statusCode = 404; return res.end(); }
      const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    });
  });
  if (upgrade) server.on('upgrade', upgrade);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return {
    server,
    base: `http://127.0.0.1:${server.address().port}/`,
    ws: `ws://127.0.0.1:${server.address().port}/`,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  };
}

async function openPage(browser, base) {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(base);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 10_000 });
  return { page, errors };
}

/**
 * Completes a WebSocket handshake by hand (RFC 6455 §4.2.2) on an upgrade socket, selecting
 * `protocol` if given, and parses the client's (masked) frames. Returns { send, closeFrame,
 * destroy } and calls onText(text) for each text message, onBinary(buf) for binary ones.
 */
function rawAccept(req, socket, { protocol, onText = () => {}, onBinary = () => {} } = {}) {
  const accept = crypto.createHash('sha1')
    .update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`);
  let buf = Buffer.alloc(0);
  socket.on('error', () => {});
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      const op = buf[0] & 15;
      let len = buf[1] & 127;
      let at = 2;
      if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); at = 4; }
      if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); at = 10; }
      if (buf.length < at + 4 + len) return;
      const mask = buf.subarray(at, at + 4);
      const payload = Buffer.from(buf.subarray(at + 4, at + 4 + len));
      for (let i = 0; i < len; i++) payload[i] ^= mask[i & 3];
      buf = buf.subarray(at + 4 + len);
      if (op === 1) onText(payload.toString());
      if (op === 2) onBinary(payload);
    }
  });
  const frame = (op, payload) => {
    const head = payload.length < 126 ? Buffer.from([0x80 | op, payload.length]) : Buffer.from([0x80 | op, 126, payload.length >> 8, payload.length & 255]);
    if (!socket.destroyed) socket.write(Buffer.concat([head, payload]));
  };
  return {
    send: (text) => frame(1, Buffer.from(text)),
    closeFrame: (code) => frame(8, Buffer.from([code >> 8, code & 255])),
    destroy: () => socket.destroy(),
  };
}

module.exports = { launch, pageServer, openPage, rawAccept, root };
