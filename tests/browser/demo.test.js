'use strict';
// The demo page in headless Chromium (Debian's, via playwright-core): chat, a forced drop,
// messages sent while offline arrive once and in order after the reconnect, a paused server is
// detected by the heartbeat. Saves a screenshot to tests/browser/screenshots/demo.png
// (UPDATE_SCREENSHOT=1: to docs/screenshot.png, the one the README shows).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const { chromium } = require(path.join(root, 'www', 'node_modules', 'playwright-core'));

let server;
let browser;
let base;

before(async () => {
  server = spawn(process.execPath, [path.join(root, 'www', 'server.js'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('demo server did not start')), 10_000);
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (m) { clearTimeout(timer); resolve(m[0]); }
    });
    server.on('exit', (code) => reject(new Error(`demo server exited with ${code}`)));
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (server) server.kill('SIGTERM');
});

const chat = (page) => page.$$eval('#messages li', (lis) => lis.map((li) => li.textContent));
const state = (page) => page.getAttribute('body', 'data-state');

async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

test('demo page: chat, drop, reconnect, queued messages once and in order, heartbeat', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(base);
  await page.waitForSelector('body[data-state="open"]', { timeout: 10_000 });

  await say(page, 'hello 1');
  await say(page, 'hello 2');
  await page.waitForFunction(() => document.querySelectorAll('#messages li').length >= 2, null, { timeout: 5_000 });
  assert.deepEqual(await chat(page), ['hello 1', 'hello 2']);

  // The server drops the link; the page notices, waits its backoff and comes back.
  await page.click('#drop');
  await page.waitForSelector('body[data-state="waiting"]', { timeout: 5_000 });
  assert.match(await page.textContent('#countdown'), /reconnecting in/);
  const offline = ['offline 1', 'offline 2', 'offline 3'];
  for (const t of offline) await say(page, t);
  assert.equal(Number((await page.textContent('#queued')).split(' ')[1]) > 0 || (await state(page)) === 'open', true);
  await page.waitForSelector('body[data-state="open"]', { timeout: 10_000 });
  await page.waitForFunction(() => document.querySelectorAll('#messages li').length >= 5, null, { timeout: 5_000 });
  await new Promise((r) => setTimeout(r, 500)); // anything sent twice would show up now
  assert.deepEqual(await chat(page), ['hello 1', 'hello 2', ...offline], 'each once, in order');
  assert.equal(await page.textContent('#queued'), 'queued 0');
  const log = await page.$$eval('#frames tr td.kind', (tds) => tds.map((td) => td.textContent));
  assert.ok(log.includes('close 1006'), 'the drop is logged as an abnormal close');
  assert.ok(log.includes('reconnect'), 'the reconnect is logged');

  // Paused server: no pong within the timeout → heartbeat timeout → reconnect.
  await page.waitForFunction(() => window.demoSocket.rtt != null, null, { timeout: 5_000 });
  await page.click('#pause');
  await page.waitForFunction(
    () => [...document.querySelectorAll('#frames td.kind')].some((td) => td.textContent === 'heartbeat timeout'),
    null, { timeout: 10_000 });
  await page.waitForSelector('body[data-state="open"]', { timeout: 10_000 });
  await say(page, 'back again');
  // Chat held by the paused server is delivered when the pause ends; ours comes after.
  await page.waitForFunction(() => [...document.querySelectorAll('#messages li')].some((li) => li.textContent === 'back again'), null, { timeout: 12_000 });
  await page.waitForFunction(() => window.demoSocket.rtt != null, null, { timeout: 5_000 });
  const shot = process.env.UPDATE_SCREENSHOT
    ? path.join(root, 'docs', 'screenshot.png')
    : path.join(root, 'tests', 'browser', 'screenshots', 'demo.png');
  require('node:fs').mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot });
  assert.ok(require('node:fs').statSync(shot).size > 10000, 'screenshot written');
  assert.deepEqual(errors, []);
  await page.close();
});
