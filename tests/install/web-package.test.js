'use strict';
// The browser package as a web app gets it: `npm pack` of pkg/ (`ferrosocket-web`), installed
// from the tarball into a new app (offline), then (a) bundled by Vite with no configuration and
// (b) imported file by file from a plain <script type="module"> page, each run in Debian's
// Chromium against a local ferrosocket server: connect, send, receive, reconnect after the
// server drops the link, send again. (c) tsc checks a usage file against the declarations.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { root, npmDir, tsc, envWithoutRust, run, tempDir, installTarballs } = require('./helpers');

const pkgDir = path.join(root, 'pkg');
const tools = path.join(__dirname, 'node_modules');
const { WebSocketServer } = require(npmDir);

let tmp;
let app;
let server;
let wss;
let base;
let context;

// The page script both apps run: it reports what the socket did in `window.report`.
const mainJs = `import init, { ReconnectingWebSocket } from 'ferrosocket-web';

await init();
const report = { opens: 0, closes: [], reconnecting: 0, messages: [], errors: [] };
const ws = new ReconnectingWebSocket('ws://' + location.host + '/echo', [], { minDelay: 50, maxDelay: 200 });
ws.onopen = () => report.opens++;
ws.onclose = (e) => report.closes.push(e.code);
ws.onmessage = (e) => report.messages.push(e.data);
ws.addEventListener('reconnecting', () => report.reconnecting++);
window.report = report;
window.socket = ws;
`;

const MIME = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

// Static files: /vite/ is the Vite build, /plain/ the app directory itself.
function serveStatic(req, res) {
  const url = new URL(req.url, 'http://x');
  const mounts = { vite: path.join(app, 'dist'), plain: app };
  const [, mount, ...rest] = url.pathname.split('/');
  const dir = mounts[mount];
  const file = dir && path.resolve(dir, rest.join('/') || 'index.html');
  if (!file || !file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': MIME[path.extname(file)] || 'application/octet-stream' });
  fs.createReadStream(file).pipe(res);
}

before(async () => {
  assert.ok(fs.existsSync(path.join(pkgDir, 'ferrosocket_web_bg.wasm')), 'pkg/ is built (scripts/build-web.sh)');
  tmp = tempDir('ferrosocket-web-install-');
  const [info] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: pkgDir }).stdout);
  app = path.join(tmp, 'app');
  const ms = installTarballs(app, [path.join(tmp, info.filename)], envWithoutRust());
  console.log(`tarball: ${info.name} ${info.size} B, ${info.entryCount} files; npm install: ${Math.round(ms)} ms`);

  fs.writeFileSync(path.join(app, 'main.js'), mainJs);
  fs.writeFileSync(path.join(app, 'index.html'), '<!doctype html><title>vite</title><link rel="icon" href="data:,"><script type="module" src="./main.js"></script>\n');
  fs.writeFileSync(
    path.join(app, 'plain.html'),
    '<!doctype html><title>plain</title><link rel="icon" href="data:,">\n' +
      '<script type="importmap">{ "imports": { "ferrosocket-web": "./node_modules/ferrosocket-web/index.js" } }</script>\n' +
      '<script type="module" src="./main.js"></script>\n'
  );
  const vite = await import(pathToFileURL(path.join(tools, 'vite', 'dist', 'node', 'index.js')).href);
  await vite.build({ root: app, base: './', configFile: false, logLevel: 'error', build: { outDir: 'dist' } });

  server = http.createServer(serveStatic);
  wss = new WebSocketServer({ server, path: '/echo' });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${server.address().port}`;

  const { chromium } = require(path.join(tools, 'playwright-core'));
  context = await chromium.launchPersistentContext(path.join(tmp, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000
  });
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (wss) wss.close();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function connectSendDropReconnect(url) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  try {
    await page.goto(url);
    const report = () => page.evaluate(() => window.report);
    await page.waitForFunction(() => window.report && window.report.opens === 1, null, { timeout: 10_000 });
    await page.evaluate(() => window.socket.send('before the drop'));
    await page.waitForFunction(() => window.report.messages.length === 1, null, { timeout: 5_000 });

    for (const client of wss.clients) client.terminate(); // the server drops the link
    await page.waitForFunction(() => window.report.opens === 2, null, { timeout: 10_000 });
    await page.evaluate(() => window.socket.send('after the reconnect'));
    await page.waitForFunction(() => window.report.messages.length === 2, null, { timeout: 5_000 });

    const r = await report();
    assert.deepEqual(r.messages, ['before the drop', 'after the reconnect']);
    assert.deepEqual(r.closes, [1006], 'the drop is an abnormal close');
    assert.ok(r.reconnecting >= 1, 'a reconnecting event came before the second open');
    assert.deepEqual(problems, []);
  } finally {
    await page.close();
  }
}

test('(a) a Vite build of an app importing ferrosocket-web, in Chromium', async () => {
  const assets = fs.readdirSync(path.join(app, 'dist', 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `Vite emitted the wasm as an asset: ${assets}`);
  await connectSendDropReconnect(`${base}/vite/index.html`);
});

test('(b) a plain <script type="module"> page importing the package files, in Chromium', async () => {
  await connectSendDropReconnect(`${base}/plain/plain.html`);
});

test('(c) the declarations cover every export and type-check a usage file', async () => {
  const usage = `import init, { initSync, ReconnectingWebSocket, type ReconnectingOptions } from 'ferrosocket-web';
import wasmUrl from 'ferrosocket-web/ferrosocket_web_bg.wasm?url';

const options: ReconnectingOptions = {
  minDelay: 100, maxDelay: 5000, growFactor: 2, maxRetries: 10, connectionTimeout: 1000, minUptime: 500,
  heartbeat: { interval: 1000, timeout: 500, ping: 'ping', pong: 'pong' },
  maxQueuedMessages: 10, maxQueuedBytes: 1024, overflow: 'drop-oldest', reconnectOnAppCodes: true,
  stopCodes: [1008], binaryType: 'arraybuffer', acknowledged: true,
};
export async function start(): Promise<void> {
  await init({ module_or_path: wasmUrl });
  initSync({ module: new Uint8Array(0) });
  const ws = new ReconnectingWebSocket((attempt: number) => 'ws://127.0.0.1/' + attempt, ['chat'], options);
  ws.onmessage = (e: MessageEvent) => console.log(e.data);
  ws.addEventListener('reconnecting', (e) => console.log((e as CustomEvent).detail));
  ws.send(new Uint8Array([1, 2]));
  const state: 'connecting' | 'open' | 'closing' | 'closed' | 'waiting' = ws.state;
  const n: number = ws.retryCount + ws.queueLength + ws.bufferedAmount + ReconnectingWebSocket.OPEN;
  const rtt: number | null = ws.rtt;
  ws.reconnect();
  ws.close(1000, 'bye');
  void state; void n; void rtt;
  // @ts-expect-error: the URL must be a string or a function, or this check proves nothing
  new ReconnectingWebSocket(42);
}
`;
  fs.writeFileSync(path.join(app, 'usage.ts'), usage);
  // Vite's `?url` imports, declared as vite/client does.
  fs.writeFileSync(path.join(app, 'url-imports.d.ts'), "declare module '*?url' { const url: string; export default url; }\n");
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true, noEmit: true, module: 'esnext', moduleResolution: 'bundler', target: 'es2022',
        lib: ['es2022', 'dom', 'esnext.disposable'], types: [], skipLibCheck: false
      },
      files: ['usage.ts', 'url-imports.d.ts']
    })
  );
  run(process.execPath, [tsc, '-p', app], { cwd: app });

  // Every runtime export is named in the usage file, so none can lack a declaration.
  const mod = await import(pathToFileURL(path.join(app, 'node_modules', 'ferrosocket-web', 'index.js')).href);
  const used = usage.split('\n')[0];
  for (const name of Object.keys(mod)) assert.ok(used.includes(name === 'default' ? 'import init' : name), name);
});

test('the package versions agree: ferrosocket-web, ferrosocket and the crates', () => {
  const web = JSON.parse(fs.readFileSync(path.join(app, 'node_modules', 'ferrosocket-web', 'package.json'), 'utf8'));
  const node = JSON.parse(fs.readFileSync(path.join(npmDir, 'package.json'), 'utf8'));
  const cargo = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8').match(/\[workspace\.package\][^[]*?version = "([^"]+)"/);
  assert.equal(web.version, node.version);
  assert.equal(web.version, cargo[1]);
});
