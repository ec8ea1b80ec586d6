'use strict';
// Shared pieces of the browser tests: Debian Chromium through playwright-core, a static server
// for pkg/ and a test page; rawAccept (tests/fixtures/raw-ws.js) for misbehaving servers.
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const { rawAccept } = require('../fixtures/raw-ws');
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

module.exports = { launch, pageServer, openPage, rawAccept, root };
