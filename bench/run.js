'use strict';

// Load benchmark: echo servers of ws, ferrosocket on both transports and (when
// bench/node_modules has it: `cd bench && npm install`) uWebSockets.js, load
// generator in its own process.
//   node bench/run.js [--quick] [--only ws,native,...]
// Prints a table with ratios vs ws (and of the native transport vs uWebSockets.js)
// and writes bench/results/node-latest.json. Bounded in time (about 2 minutes per
// server; --quick about 40 s). Not part of the test run.

const { fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 2 : 5;
const IDLE = quick ? 2000 : 10000;
const HANDSHAKES = quick ? 1000 : 5000;
const only = process.argv.indexOf('--only');
const IMPLS = (only !== -1 ? process.argv[only + 1].split(',') : ['ws', 'ferrosocket', 'native', 'uws']).filter(
  (impl) => impl !== 'uws' || hasUws()
);

function hasUws() {
  try {
    require.resolve('uwebsockets', { paths: [__dirname] });
    return true;
  } catch {
    process.stderr.write('uwebsockets is not installed in bench/ (cd bench && npm install): skipped\n');
    return false;
  }
}

function request(child, msg, timeoutMs) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout: ${JSON.stringify(msg)}`)), timeoutMs);
    child.once('message', (reply) => {
      clearTimeout(t);
      if (reply.error) reject(new Error(reply.error));
      else resolve(reply.result !== undefined ? reply.result : reply);
    });
    child.send(msg);
  });
}

function startServer(impl) {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server.js'), [impl], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    });
    const t = setTimeout(() => reject(new Error('server did not start')), 10000);
    child.once('message', (m) => {
      clearTimeout(t);
      resolve({ child, port: m.port });
    });
  });
}

function kill(child) {
  if (child && child.exitCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }
}

async function measure(impl) {
  const server = await startServer(impl);
  const load = fork(path.join(__dirname, 'load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = server.port;
  const r = { impl };
  try {
    const limit = (SECONDS + 30) * 1000;
    r.small = await request(load, { scenario: 'echo', port, conns: 100, size: 64, window: 8, seconds: SECONDS }, limit);
    r.medium = await request(load, { scenario: 'echo', port, conns: 10, size: 16 * 1024, window: 4, seconds: SECONDS }, limit);
    r.large = await request(load, { scenario: 'echo', port, conns: 4, size: 1024 * 1024, window: 2, seconds: SECONDS }, limit);
    r.handshakes = await request(load, { scenario: 'handshakes', port, total: HANDSHAKES, concurrency: 50 }, 120000);
  } finally {
    kill(load);
    kill(server.child);
  }
  r.idle = await measureIdle(impl);
  return r;
}

// Idle connections on a fresh server: 200 connections warm it up, then the
// growth of RSS (and of the JS heap) from IDLE more connections is divided by IDLE.
async function measureIdle(impl) {
  const server = await startServer(impl);
  const load = fork(path.join(__dirname, 'load.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = server.port;
  try {
    await request(load, { scenario: 'openIdle', port, count: 200, concurrency: 50 }, 60000);
    const before = await request(server.child, { cmd: 'rss' }, 10000);
    const opened = await request(load, { scenario: 'openIdle', port, count: IDLE, concurrency: 100 }, 120000);
    const after = await request(server.child, { cmd: 'rss' }, 10000);
    return {
      count: opened.open - 200,
      clients: after.clients,
      bytesPerConn: (after.rss - before.rss) / (opened.open - 200),
      heapPerConn: (after.heapUsed - before.heapUsed) / (opened.open - 200)
    };
  } finally {
    kill(load);
    kill(server.child);
  }
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
}

(async () => {
  const results = {};
  for (const impl of IMPLS) {
    process.stderr.write(`measuring ${impl}...\n`);
    results[impl] = await measure(impl);
  }
  const rows = [
    ['64 B echo, 100 conns (msgs/s)', (r) => r.small.msgsPerSec, 0, true],
    ['64 B echo p99 latency (ms)', (r) => r.small.p99ms, 2, false],
    ['16 KiB echo, 10 conns (MB/s)', (r) => r.medium.mbPerSec, 1, true],
    ['1 MiB echo, 4 conns (MB/s)', (r) => r.large.mbPerSec, 1, true],
    [`${HANDSHAKES} handshakes (per s)`, (r) => r.handshakes.perSec, 0, true],
    [`${IDLE} idle conns (server RSS KiB/conn)`, (r) => r.idle.bytesPerConn / 1024, 2, false],
    [`${IDLE} idle conns (server JS heap KiB/conn)`, (r) => r.idle.heapPerConn / 1024, 2, false]
  ];
  // Ratios: every ferrosocket column vs ws, and native vs uWebSockets.js.
  const pairs = [];
  for (const impl of IMPLS) if (impl !== 'ws' && impl !== 'uws' && results.ws) pairs.push([impl, 'ws']);
  if (results.native && results.uws) pairs.push(['native', 'uws']);
  const lines = [];
  lines.push(`| scenario | ${IMPLS.join(' | ')} | ${pairs.map(([a, b]) => `${a} vs ${b}`).join(' | ')} |`);
  lines.push(`|---|${IMPLS.map(() => '---:').join('|')}|${pairs.map(() => '---:').join('|')}|`);
  for (const [name, get, d, higherBetter] of rows) {
    const cells = IMPLS.map((impl) => fmt(get(results[impl]), d));
    const ratios = pairs.map(([a, b]) => {
      const x = get(results[a]);
      const y = get(results[b]);
      return `${fmt(higherBetter ? x / y : y / x, 2)}×`;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  lines.push('');
  lines.push('Ratios are "times better" (higher throughput, or lower latency / memory).');
  const env = `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}, ${os.platform()} ${os.release()}`;
  console.log(`\n${env}${quick ? ' (quick run)' : ''}\n`);
  console.log(lines.join('\n'));
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, 'node-latest.json'),
    JSON.stringify({ env, quick, date: new Date().toISOString(), results, table: lines }, null, 2)
  );
  process.exit(0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});

setTimeout(() => {
  console.error('benchmark exceeded its time bound');
  process.exit(2);
}, (quick ? 120000 : 300000) * IMPLS.length).unref();
