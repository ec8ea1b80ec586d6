'use strict';

// Client benchmark: 100 WebSocket clients in one Node process driving a Rust echo
// server (ferrosocket-core's `echo_server` example, in its own process) with 64 B
// messages, each client keeping a window of messages in flight. Peers in the same
// run: ws (with bufferutil when installed) and ferrosocket on both transports.
//   node bench/clients.js [--quick] [--only ws,stream,native]
// Builds the echo server first (cargo, release). Prints messages per second and the
// ratios vs ws; writes bench/results/clients-latest.json. Not part of the test run.

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');

const { buildExample } = require('./rust-example');

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 3 : 8;
const CLIENTS = 100;
const WINDOW = 8;
const SIZE = 64;
const only = process.argv.indexOf('--only');
const PEERS = only !== -1 ? process.argv[only + 1].split(',') : ['ws', 'stream', 'native'];
const root = path.join(__dirname, '..');

function echoServer() {
  const child = spawn(buildExample('echo_server'), ['--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'inherit']
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ws:\/\/([\d.:]+)/.exec(out);
      if (m) resolve({ child, url: `ws://${m[1]}/` });
    });
    child.on('exit', (code) => reject(new Error(`echo server exited (${code})`)));
  });
}

/** Runs the clients of one peer in a child process (its own heap and loop). */
function runPeer(peer, url) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--child', peer, url], {
      stdio: ['ignore', 'pipe', 'inherit']
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${peer}: exit ${code}`));
      resolve(JSON.parse(out));
    });
  });
}

async function child(peer, url) {
  let WebSocket;
  let options = {};
  if (peer === 'ws') {
    WebSocket = require(require.resolve('ws', { paths: [path.join(root, 'npm')] }));
  } else {
    WebSocket = require(path.join(root, 'npm'));
    options = { transport: peer };
  }
  const payload = Buffer.alloc(SIZE, 7);
  let received = 0;
  let counting = false;
  const clients = [];
  await Promise.all(
    Array.from({ length: CLIENTS }, () => new Promise((resolve, reject) => {
      const c = new WebSocket(url, { perMessageDeflate: false, ...options });
      c.on('open', resolve);
      c.on('error', reject);
      c.on('message', () => {
        if (counting) received++;
        c.send(payload);
      });
      clients.push(c);
    }))
  );
  const native = clients.filter((c) => c.constructor.name === 'NativeWebSocket').length;
  for (const c of clients) for (let i = 0; i < WINDOW; i++) c.send(payload);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  counting = true;
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  counting = false;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  for (const c of clients) c.terminate();
  process.stdout.write(
    JSON.stringify({
      peer,
      nativeClients: native,
      msgsPerSec: Math.round(received / seconds),
      cpuPerMsgUs: (used.user + used.system) / Math.max(1, received)
    })
  );
  process.exit(0);
}

async function main() {
  const { child: server, url } = await echoServer();
  const results = [];
  try {
    for (const peer of PEERS) {
      const r = await runPeer(peer, url);
      results.push(r);
      process.stderr.write(`${peer}: ${r.msgsPerSec} msgs/s\n`);
    }
  } finally {
    server.kill();
  }
  const ws = results.find((r) => r.peer === 'ws');
  console.log(`\n${CLIENTS} clients, 64 B messages, ${WINDOW} in flight each, echo server: ferrosocket-core echo_server\n`);
  console.log('| client | msgs/s | CPU µs/msg | vs ws |');
  console.log('|---|---:|---:|---:|');
  for (const r of results) {
    const ratio = ws ? `${(r.msgsPerSec / ws.msgsPerSec).toFixed(2)}×` : '–';
    console.log(`| ${r.peer === 'ws' ? 'ws' : `ferrosocket (${r.peer}, ${r.nativeClients} native)`} | ${r.msgsPerSec.toLocaleString('en-US')} | ${r.cpuPerMsgUs.toFixed(2)} | ${ratio} |`);
  }
  fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'results', 'clients-latest.json'), JSON.stringify(results, null, 2));
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
