'use strict';

// Load benchmark: echo servers of ws, ferrosocket on both transports and (when
// bench/node_modules has it: `cd bench && npm install`) uWebSockets.js, load
// generator in its own process.
//   node bench/run.js [--quick] [--only ws,native,...] [--deflate-only] [--idle-only]
// Prints a table with ratios vs ws (and of the native transport vs uWebSockets.js)
// and writes bench/results/node-latest.json. Then the permessage-deflate scenarios
// (busy connections' memory and CPU per message, ws vs ferrosocket); --deflate-only
// runs only those (bench/results/deflate-latest.json); --idle-only runs only the idle
// connections (no deflate scenarios). Bounded in time (about 2
// minutes per server; --quick about 40 s). Not part of the test run.

const { execFileSync, fork } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { buildExample } = require('./rust-example');

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 2 : 5;
// 10,000 idle connections in every run (the issue's figure; --quick too): the server
// holds 10,200 descriptors and the load generator the other ends (limit 20,000 each).
const IDLE = 10000;
const HANDSHAKES = quick ? 1000 : 5000;
const only = process.argv.indexOf('--only');
const IMPLS = (only !== -1 ? process.argv[only + 1].split(',') : ['ws', 'ferrosocket', 'native', 'native-server', 'uws']).filter(
  (impl) => impl !== 'uws' || hasUws()
);

const deflateOnly = process.argv.includes('--deflate-only');
const idleOnly = process.argv.includes('--idle-only');
// Busy connections exchanging ~1 KiB JSON with permessage-deflate negotiated. 1,000
// (twice): the server's RSS moves by ~10 MB between measurements whatever the
// connections (V8's young generation, the allocator), ±50 KiB per connection at 200.
const DEFLATE_CONNS = 1000;
const DEFLATE_SECONDS = quick ? 3 : 8;
const DEFLATE_CONFIGS = [
  ['default settings', true],
  ['serverNoContextTakeover', { serverNoContextTakeover: true }],
  ['server + clientNoContextTakeover', { serverNoContextTakeover: true, clientNoContextTakeover: true }]
];

function hasUws() {
  try {
    require.resolve('uwebsockets', { paths: [__dirname] });
    return true;
  } catch {
    process.stderr.write('uwebsockets is not installed in bench/ (cd bench && npm install): skipped\n');
    return false;
  }
}

// The server on CPU 0, the load generator on CPU 1 (the issue's set-up): neither
// steals the other's core. Without taskset (not Linux) both float.
function pin(child, cpu) {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(child.pid)], { stdio: 'ignore' });
  } catch {}
  return child;
}

// The echo and handshake load comes from the Rust generator, a child of load.js (so
// pinned with it); built once per run.
let loadGenerator = null;
function forkLoad() {
  if (loadGenerator === null) loadGenerator = buildExample('load_generator');
  const env = { ...process.env, FERROSOCKET_LOAD_GENERATOR: loadGenerator };
  return pin(fork(path.join(__dirname, 'load.js'), [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), 1);
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

function startServer(impl, perMessageDeflate) {
  const args = perMessageDeflate ? [impl, JSON.stringify(perMessageDeflate)] : [impl];
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'server.js'), args, {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    });
    const t = setTimeout(() => reject(new Error('server did not start')), 10000);
    child.once('message', (m) => {
      clearTimeout(t);
      pin(child, 0);
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
  if (idleOnly) return { impl, idle: await measureIdle(impl) };
  const server = await startServer(impl);
  const load = forkLoad();
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

// Idle connections on a fresh server, no warm-up, no forced GC (what a user sees
// starting a server): the growth of RSS (and of the JS heap) from IDLE connections
// is divided by IDLE, just after they opened and again once they have been idle for
// IDLE_SETTLE_MS: while they open, V8 grows its young generation (every WebSocket
// object survives a scavenge), and its memory reducer gives that back after a few
// idle seconds.
const IDLE_SETTLE_MS = 15000;
async function measureIdle(impl) {
  const server = await startServer(impl);
  const load = forkLoad();
  const port = server.port;
  try {
    const before = await request(server.child, { cmd: 'rss' }, 10000);
    const opened = await request(load, { scenario: 'openIdle', port, count: IDLE, concurrency: 100 }, 120000);
    const after = await request(server.child, { cmd: 'rss' }, 10000);
    await new Promise((r) => setTimeout(r, IDLE_SETTLE_MS));
    const settled = await request(server.child, { cmd: 'rss' }, 10000);
    const count = opened.open;
    return {
      count,
      clients: settled.clients,
      bytesPerConn: (after.rss - before.rss) / count,
      heapPerConn: (after.heapUsed - before.heapUsed) / count,
      settledBytesPerConn: (settled.rss - before.rss) / count,
      settledHeapPerConn: (settled.heapUsed - before.heapUsed) / count
    };
  } finally {
    kill(load);
    kill(server.child);
  }
}

// Deflate: a fresh server gets DEFLATE_CONNS connections that negotiate
// permessage-deflate and echo ~1 KiB JSON (the warm-up: V8's heap and the allocator
// reach their working size), then as many more, and all echo for DEFLATE_SECONDS.
// Memory per connection = the growth of RSS from the first busy set to both (each
// time just after the traffic stops, connections open, after a GC) / DEFLATE_CONNS;
// CPU per message = the server's CPU time over the second busy period / messages
// echoed in it.
async function measureDeflate(impl, perMessageDeflate) {
  const server = await startServer(impl, perMessageDeflate);
  const load = forkLoad();
  const port = server.port;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const busy = async (seconds) => {
    await request(load, { scenario: 'deflateStart', window: 2 }, 10000);
    await sleep(seconds * 1000);
    const cpu = await request(server.child, { cmd: 'cpu' }, 10000);
    const stopped = await request(load, { scenario: 'deflateStop' }, 10000);
    await sleep(200);
    return { cpu, messages: stopped.messages };
  };
  try {
    await request(load, { scenario: 'deflateOpen', port, conns: DEFLATE_CONNS }, 60000);
    await busy(DEFLATE_SECONDS / 2);
    const warm = await request(server.child, { cmd: 'rss', gc: true }, 10000);
    const opened = await request(load, { scenario: 'deflateOpen', port, conns: DEFLATE_CONNS }, 60000);
    const cpu0 = await request(server.child, { cmd: 'cpu' }, 10000);
    const run = await busy(DEFLATE_SECONDS);
    const after = await request(server.child, { cmd: 'rss', gc: true }, 10000);
    await request(load, { scenario: 'deflateClose' }, 10000);
    return {
      conns: opened.open,
      messageBytes: opened.messageBytes,
      messages: run.messages,
      bytesPerConn: (after.rss - warm.rss) / DEFLATE_CONNS,
      cpuMicrosPerMsg: (run.cpu.cpuMicros - cpu0.cpuMicros) / run.messages
    };
  } finally {
    kill(load);
    kill(server.child);
  }
}

const DEFLATE_IMPLS = ['ws', 'ferrosocket'];

async function deflateRows(results) {
  const rows = [];
  for (const [label, pmd] of DEFLATE_CONFIGS) {
    const r = {};
    for (const impl of DEFLATE_IMPLS) {
      process.stderr.write(`deflate (${label}): measuring ${impl}...\n`);
      r[impl] = await measureDeflate(impl, pmd);
    }
    results[`deflate ${label}`] = r;
    rows.push([`deflate, ${label}: busy conns (server RSS KiB/conn)`, r.ws.bytesPerConn / 1024, r.ferrosocket.bytesPerConn / 1024, 1, false]);
    rows.push([`deflate, ${label}: CPU per ~1 KiB message (µs)`, r.ws.cpuMicrosPerMsg, r.ferrosocket.cpuMicrosPerMsg, 1, false]);
  }
  return rows;
}

function fmt(n, digits = 0) {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
}

(async () => {
  const results = {};
  const impls = deflateOnly ? [] : IMPLS;
  for (const impl of impls) {
    process.stderr.write(`measuring ${impl}...\n`);
    results[impl] = await measure(impl);
  }
  const idleRows = [
    [`${IDLE} idle conns, just opened (server RSS KiB/conn)`, (r) => r.idle.bytesPerConn / 1024, 2, false],
    [`${IDLE} idle conns, idle ${IDLE_SETTLE_MS / 1000} s (server RSS KiB/conn)`, (r) => r.idle.settledBytesPerConn / 1024, 2, false],
    [`${IDLE} idle conns (server JS heap KiB/conn)`, (r) => r.idle.settledHeapPerConn / 1024, 2, false]
  ];
  const rows = deflateOnly ? [] : idleOnly ? idleRows : [
    ['64 B echo, 100 conns (msgs/s)', (r) => r.small.msgsPerSec, 0, true],
    ['64 B echo p99 latency (ms)', (r) => r.small.p99ms, 2, false],
    ['16 KiB echo, 10 conns (MB/s)', (r) => r.medium.mbPerSec, 1, true],
    ['1 MiB echo, 4 conns (MB/s)', (r) => r.large.mbPerSec, 1, true],
    [`${HANDSHAKES} handshakes (per s)`, (r) => r.handshakes.perSec, 0, true],
    ...idleRows
  ];
  // Ratios: every ferrosocket column vs ws, and native vs uWebSockets.js.
  const pairs = [];
  for (const impl of impls) if (impl !== 'ws' && impl !== 'uws' && results.ws) pairs.push([impl, 'ws']);
  if (results.native && results.uws) pairs.push(['native', 'uws']);
  const lines = [];
  if (rows.length) {
    lines.push(`| scenario | ${impls.join(' | ')} | ${pairs.map(([a, b]) => `${a} vs ${b}`).join(' | ')} |`);
    lines.push(`|---|${impls.map(() => '---:').join('|')}|${pairs.map(() => '---:').join('|')}|`);
  }
  for (const [name, get, d, higherBetter] of rows) {
    const cells = impls.map((impl) => fmt(get(results[impl]), d));
    const ratios = pairs.map(([a, b]) => {
      const x = get(results[a]);
      const y = get(results[b]);
      return `${fmt(higherBetter ? x / y : y / x, 2)}×`;
    });
    lines.push(`| ${name} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  // permessage-deflate: ws vs ferrosocket (Node sockets).
  const deflate = idleOnly ? [] : await deflateRows(results);
  if (deflate.length) {
    lines.push('');
    lines.push('| deflate scenario | ws | ferrosocket | ferrosocket vs ws |');
    lines.push('|---|---:|---:|---:|');
  }
  for (const [name, w, f, d, higherBetter] of deflate) {
    lines.push(`| ${name} | ${fmt(w, d)} | ${fmt(f, d)} | ${fmt(higherBetter ? f / w : w / f, 2)}× |`);
  }
  lines.push('');
  lines.push('Ratios are "times better" (higher throughput, or lower latency / memory).');
  const env = `node ${process.version}, ${os.cpus().length} × ${os.cpus()[0].model.trim()}, ${os.platform()} ${os.release()}`;
  console.log(`\n${env}${quick ? ' (quick run)' : ''}\n`);
  console.log(lines.join('\n'));
  const outDir = path.join(__dirname, 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(
    path.join(outDir, deflateOnly ? 'deflate-latest.json' : idleOnly ? 'idle-latest.json' : 'node-latest.json'),
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
}, (quick ? 120000 : 300000) * (IMPLS.length + 2)).unref();
