'use strict';

// Scale-out over a real redis-server (Debian's, installed by scripts/setup.sh): two
// server processes with the Redis adapter, clients on both, publishes on each. Every
// message is delivered once and in order per publisher; Redis is killed and restarted
// mid-run: the adapters report the outage, reconnect and resubscribe by themselves,
// and nothing is duplicated or reordered (what was published during it may be lost:
// at-most-once). Every process started here is stopped by PID.

const test = require('node:test');
const assert = require('node:assert');
const { spawn, fork, execFileSync } = require('child_process');
const net = require('net');
const path = require('path');

const h = require('./helpers');
const { WebSocket } = h.LIBS.ferrosocket;

function redisServerPath() {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('redis-server is not installed: run scripts/setup.sh');
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(bin, port) {
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' }
  );
  const deadline = Date.now() + 10000;
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('redis-server did not start');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill('SIGKILL');
  });
}

function startNode(url) {
  const child = fork(path.join(__dirname, 'fixtures', 'redis-node.js'), {
    env: { ...process.env, REDIS_URL: url },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc']
  });
  const waiters = [];
  const events = [];
  child.on('message', (m) => {
    events.push(m);
    for (const w of waiters.splice(0)) w();
  });
  child.next = (event, ms = 10000) =>
    h.within(
      new Promise((resolve) => {
        const check = () => {
          const i = events.findIndex((m) => m.event === event);
          if (i !== -1) return resolve(events.splice(i, 1)[0]);
          waiters.push(check);
        };
        check();
      }),
      ms,
      `node event ${event}`
    );
  return child;
}

function waitFor(cond, ms, what) {
  return h.within(
    new Promise((resolve) => {
      const t = setInterval(() => {
        if (cond()) {
          clearInterval(t);
          resolve();
        }
      }, 10);
    }),
    ms,
    what
  );
}

/** Per publisher tag: strictly increasing, no duplicates. */
function assertOrdered(messages, who) {
  const last = {};
  for (const m of messages) {
    const [tag, n] = m.split(':');
    const i = Number(n);
    assert.ok(last[tag] === undefined || i > last[tag], `${who}: ${m} after ${tag}:${last[tag]}`);
    last[tag] = i;
  }
}

test('two processes share topics through Redis, across a Redis restart', { timeout: 90000 }, async () => {
  const bin = redisServerPath();
  const port = await freePort();
  let redis = await startRedis(bin, port);
  const url = `redis://127.0.0.1:${port}`;
  const nodes = [startNode(url), startNode(url)];
  const clients = [];
  try {
    const listening = await Promise.all(nodes.map((n) => n.next('listening')));
    assert.ok(listening.every((l) => l.sharded === true), 'Redis 7 has sharded pub/sub');
    // Two clients on each node.
    const got = [];
    for (const [i, l] of listening.entries()) {
      for (let k = 0; k < 2; k++) {
        const c = new WebSocket(`ws://127.0.0.1:${l.port}`);
        const log = [];
        c.on('message', (m) => log.push(String(m)));
        await h.once(c, 'open');
        await nodes[i].next('subscribed');
        clients.push(c);
        got.push(log);
      }
    }
    // Give both adapters' SSUBSCRIBE time to reach Redis: probe until it crosses.
    let probe = 0;
    await waitFor(
      () => {
        nodes[0].send({ publish: { tag: 'P', from: probe++, count: 1 } });
        nodes[1].send({ publish: { tag: 'Q', from: probe++, count: 1 } });
        return got[3].some((m) => m.startsWith('P')) && got[0].some((m) => m.startsWith('Q'));
      },
      10000,
      'subscriptions'
    );

    const phase = async (from, count) => {
      nodes[0].send({ publish: { tag: 'A', from, count } });
      nodes[1].send({ publish: { tag: 'B', from, count } });
      const want = (tag) => `${tag}:${from + count - 1}`;
      await waitFor(
        () => got.every((log) => log.includes(want('A')) && log.includes(want('B'))),
        15000,
        `phase ${from}`
      );
      for (const log of got) {
        for (const tag of ['A', 'B']) {
          const seen = log.filter((m) => m.startsWith(`${tag}:`)).map((m) => Number(m.slice(2)));
          const range = seen.filter((i) => i >= from && i < from + count);
          assert.strictEqual(range.length, count, `every ${tag} message of the phase, once`);
        }
      }
    };

    await phase(0, 300);

    // Redis dies: both adapters report it; local delivery goes on meanwhile.
    await stop(redis);
    await Promise.all(nodes.map((n) => n.next('down')));
    nodes[0].send({ publish: { tag: 'A', from: 1000, count: 50 } });
    await waitFor(() => got[0].includes('A:1049'), 5000, 'local delivery during the outage');
    redis = await startRedis(bin, port);
    const ups = await Promise.all(nodes.map((n) => n.next('up', 20000)));
    assert.ok(ups.every((u) => typeof u.duration === 'number' && u.duration > 0));
    // Resubscribed by themselves: probes cross again.
    const crossed = (tag, log) => log.some((m) => m.startsWith(tag) && Number(m.slice(2)) >= 5000);
    probe = 5000;
    await waitFor(
      () => {
        nodes[0].send({ publish: { tag: 'P', from: probe++, count: 1 } });
        nodes[1].send({ publish: { tag: 'Q', from: probe++, count: 1 } });
        return crossed('P', got[3]) && crossed('Q', got[0]);
      },
      15000,
      'resubscribed'
    );
    await phase(2000, 300);

    got.forEach((log, i) => assertOrdered(log, `client ${i}`));
    // During the outage, the remote node's clients got none of A:1000..1049 twice.
    for (const log of got) {
      const outage = log.filter((m) => /^A:10[0-4]\d$/.test(m));
      assert.strictEqual(new Set(outage).size, outage.length);
    }
  } finally {
    for (const c of clients) c.terminate();
    await Promise.all(nodes.map(stop));
    await stop(redis);
  }
});
