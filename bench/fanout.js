'use strict';

// Fan-out benchmark: 1,000 subscribers on one topic, messages of 64 B and 16 KiB
// published as fast as the subscribers take them; deliveries per second counted by
// the load generator (its own process, raw TCP clients). Peers, same run:
//   ws            the ws recipe: for (const c of wss.clients) c.send(data)
//   ferrosocket   wss.publish(topic, data) (framed once, the same Buffer to every socket)
//   uWebSockets.js app.publish(topic, data) (bench-only peer: bench/package.json)
//   ferrosocket+redis  two server processes joined by the Redis adapter (a local
//                 redis-server on a free port): published on one, half the subscribers
//                 on the other
// Flow control, the same for all: one subscriber acknowledges what it received; the
// publisher keeps at most WINDOW messages ahead of it.
//   node bench/fanout.js [--quick]      (about 1 minute; --quick about 25 s)

const { fork, spawn, execFileSync } = require('child_process');
const net = require('net');
const path = require('path');
const crypto = require('crypto');

const { connect } = require('./raw-client');

const TOPIC = 'fanout';
const SUBSCRIBERS = 1000;

// ---------------------------------------------------------------------------------
// server role: node fanout.js server <impl>   (IPC: { run }, answers { done, published })

function serverRole(impl) {
  let publishOne;
  let onAck; // set by run()
  const ack = (n) => onAck && onAck(n);
  const listening = (port) => process.send({ port });

  if (impl === 'uws') {
    const uWS = require(path.join(__dirname, 'node_modules/uwebsockets'));
    const app = uWS.App().ws('/*', {
      maxBackpressure: 1 << 30, // no drops: the window bounds what is in flight
      closeOnBackpressureLimit: false,
      maxPayloadLength: 1 << 20,
      open: (ws) => ws.subscribe(TOPIC),
      message: (ws, msg) => ack(Buffer.from(msg).readUInt32LE(0))
    });
    app.listen('127.0.0.1', 0, (token) => listening(uWS.us_socket_local_port(token)));
    publishOne = (data) => app.publish(TOPIC, data, true);
  } else {
    const lib =
      impl === 'ws' ? require(path.join(__dirname, '../npm/node_modules/ws')) : require('../npm');
    const options = { host: '127.0.0.1', port: 0, backlog: 4096 };
    if (impl === 'ferrosocket+redis') {
      options.adapter = lib.createRedisAdapter({ url: process.env.REDIS_URL });
    }
    const wss = new lib.WebSocketServer(options, async () => {
      if (options.adapter) await options.adapter.ready;
      listening(wss.address().port);
    });
    wss.on('connection', (ws) => {
      ws.on('error', () => {});
      if (impl !== 'ws') ws.subscribe(TOPIC);
      ws.on('message', (msg) => ack(msg.readUInt32LE(0)));
    });
    if (impl === 'ws') {
      publishOne = (data) => {
        for (const c of wss.clients) if (c.readyState === 1) c.send(data, { binary: true });
      };
    } else {
      publishOne = (data) => wss.publish(TOPIC, data, { binary: true });
    }
  }

  process.on('message', (msg) => {
    if (msg.cmd === 'exit') process.exit(0);
    if (msg.cmd === 'acks') {
      onAck = (n) => process.send({ ack: n }); // forwarded to the publishing node
      return;
    }
    if (msg.cmd !== 'run') return;
    const { size, window, seconds, remoteAcks } = msg;
    const data = crypto.randomBytes(size);
    let published = 0;
    let acked = 0;
    let running = true;
    const pump = () => {
      while (running && published - acked < window) {
        publishOne(data);
        published++;
      }
    };
    onAck = (n) => {
      if (n > acked) acked = n;
      pump();
    };
    if (remoteAcks) process.on('message', (m) => m.ack !== undefined && onAck(m.ack));
    setTimeout(() => {
      running = false;
      process.send({ done: true, published });
    }, seconds * 1000 + 1500);
    pump();
  });
}

// ---------------------------------------------------------------------------------
// load role: node fanout.js load   (IPC: { connect }, { measure }, answers results)

function ackFrame(n) {
  const key = crypto.randomBytes(4);
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(n, 0);
  for (let i = 0; i < 4; i++) payload[i] ^= key[i];
  return Buffer.concat([Buffer.from([0x82, 0x84]), key, payload]);
}

function loadRole() {
  const sockets = [];
  let size = 0;
  let counting = false;
  let delivered = 0;
  process.on('message', async (msg) => {
    if (msg.cmd === 'connect') {
      // `ports`: subscribers spread over the servers (the Redis scenario has two).
      for (let i = 0; i < msg.count; i++) {
        sockets.push(await connect(msg.ports[i % msg.ports.length]));
      }
      process.send({ connected: sockets.length });
    } else if (msg.cmd === 'measure') {
      size = msg.size;
      const frame = size + (size < 126 ? 2 : size < 65536 ? 4 : 10);
      sockets.forEach(({ socket, rest }, idx) => {
        let bytes = rest.length;
        let received = 0;
        socket.removeAllListeners('data');
        socket.on('data', (chunk) => {
          bytes += chunk.length;
          const k = Math.floor(bytes / frame);
          bytes -= k * frame;
          received += k;
          if (counting) delivered += k;
          // The acknowledging subscriber: the last one, on the last server (remote in
          // the Redis scenario).
          if (idx === msg.acker && k > 0) socket.write(ackFrame(received));
        });
      });
      await new Promise((r) => setTimeout(r, 1000)); // warm-up
      counting = true;
      const t0 = process.hrtime.bigint();
      await new Promise((r) => setTimeout(r, msg.seconds * 1000));
      counting = false;
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      process.send({ perSecond: delivered / secs });
      delivered = 0;
    } else if (msg.cmd === 'exit') {
      for (const { socket } of sockets) socket.destroy();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------
// orchestrator

function child(args, env) {
  return fork(__filename, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env }
  });
}

function next(proc, pred, ms = 60000) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('bench step timed out')), ms);
    const on = (m) => {
      if (!pred(m)) return;
      clearTimeout(t);
      proc.removeListener('message', on);
      resolve(m);
    };
    proc.on('message', on);
  });
}

function kill(proc) {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    try {
      process.kill(proc.pid, 'SIGKILL');
    } catch {}
  }
}

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis() {
  const bin = execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  const port = await freePort();
  const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', ''], {
    stdio: 'ignore'
  });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), r(true)));
      s.on('error', () => r(false));
    });
    if (up) return { proc, url: `redis://127.0.0.1:${port}` };
    await new Promise((r) => setTimeout(r, 50));
  }
  kill(proc);
  throw new Error('redis-server did not start');
}

async function scenario(impl, size, seconds, redis) {
  const servers = [];
  const load = child(['load']);
  try {
    const env = redis ? { REDIS_URL: redis.url } : {};
    const count = impl === 'ferrosocket+redis' ? 2 : 1;
    for (let i = 0; i < count; i++) servers.push(child(['server', impl], env));
    const ports = [];
    for (const s of servers) ports.push((await next(s, (m) => m.port !== undefined)).port);
    await new Promise((r) => {
      load.once('message', r);
      load.send({ cmd: 'connect', count: SUBSCRIBERS, ports });
    });
    const window = size >= 16384 ? 4 : 32;
    const publisher = servers[0];
    if (count === 2) {
      // Acks come from a subscriber of the remote node and are forwarded over IPC.
      servers[1].send({ cmd: 'acks' });
      servers[1].on('message', (m) => m.ack !== undefined && publisher.send({ ack: m.ack }));
      await new Promise((r) => setTimeout(r, 500)); // the remote SSUBSCRIBE reaches Redis
    }
    const done = next(publisher, (m) => m.done, (seconds + 20) * 1000);
    publisher.send({ cmd: 'run', size, window, seconds, remoteAcks: count === 2 });
    const measured = next(load, (m) => m.perSecond !== undefined, (seconds + 20) * 1000);
    load.send({ cmd: 'measure', size, seconds, acker: SUBSCRIBERS - 1 });
    const { perSecond } = await measured;
    await done;
    return perSecond;
  } finally {
    for (const s of servers) kill(s);
    kill(load);
  }
}

async function main() {
  const quick = process.argv.includes('--quick');
  const seconds = quick ? 2 : 5;
  let impls = ['ws', 'ferrosocket', 'uws'];
  try {
    require.resolve(path.join(__dirname, 'node_modules/uwebsockets'));
  } catch {
    console.error('uWebSockets.js not installed (npm install in bench/): skipped');
    impls = impls.filter((i) => i !== 'uws');
  }
  let redis = null;
  try {
    redis = await startRedis();
    impls.push('ferrosocket+redis');
  } catch (err) {
    console.error(`redis-server unavailable (${err.message}): Redis scenario skipped`);
  }
  const results = {};
  try {
    for (const size of [64, 16384]) {
      for (const impl of impls) {
        const r = await scenario(impl, size, seconds, redis);
        results[`${impl} ${size}`] = r;
        console.error(`  ${impl.padEnd(18)} ${String(size).padStart(5)} B: ${Math.round(r).toLocaleString('en-US')} deliveries/s`);
      }
    }
  } finally {
    if (redis) kill(redis.proc);
  }
  console.log(`\nFan-out to ${SUBSCRIBERS} subscribers, deliveries per second (same run)\n`);
  console.log('| message | ws (clients loop) | uWebSockets.js publish | ferrosocket publish | vs ws | vs uWS | through Redis (2 processes) |');
  console.log('|---|---|---|---|---|---|---|');
  const f = (v) => (v === undefined ? '–' : Math.round(v).toLocaleString('en-US'));
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '–');
  for (const size of [64, 16384]) {
    const r = (i) => results[`${i} ${size}`];
    console.log(
      `| ${size === 64 ? '64 B' : '16 KiB'} | ${f(r('ws'))} | ${f(r('uws'))} | ${f(r('ferrosocket'))} | ` +
        `${ratio(r('ferrosocket'), r('ws'))} | ${ratio(r('ferrosocket'), r('uws'))} | ${f(r('ferrosocket+redis'))} |`
    );
  }
}

if (process.argv[2] === 'server') serverRole(process.argv[3]);
else if (process.argv[2] === 'load') loadRole();
else
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
