'use strict';

// permessage-deflate off the event loop: large messages are compressed and inflated
// on libuv's thread pool, in order per connection, and close/terminate while that
// work is out behave as in ws. Each scenario runs against ws and ferrosocket.

const test = require('node:test');
const assert = require('node:assert');

const h = require('./helpers');

const BIG = 10 * 1024 * 1024;

/** ~10 MB of JSON-like text: compressible, and slow enough to compress to notice. */
const bigText = (seed = 1, size = BIG) => h.jsonText(size, seed);

const PAYLOAD = bigText();

/** A server of `lib` with deflate and a client of `lib` connected to it. */
async function connected(lib, serverPmd = true, clientPmd = true) {
  const wss = await h.listen(lib, { perMessageDeflate: serverPmd });
  const server = h.once(wss, 'connection');
  const client = new lib(h.url(wss), { perMessageDeflate: clientPmd });
  await h.within(h.once(client, 'open'), 5000, 'open');
  const [sock] = await h.within(server, 5000, 'connection');
  return { wss, client, sock };
}

/** Counts timer ticks; `at()` is the count now. */
function ticker() {
  let ticks = 0;
  const t = setInterval(() => ticks++, 1);
  return { at: () => ticks, stop: () => clearInterval(t) };
}

test('a timer keeps firing while a ~10 MB message is compressed', async () => {
  await h.both(async (lib, name) => {
    const { wss, client, sock } = await connected(lib);
    const clock = ticker();
    // Ticks seen while the whole payload still counts as buffered (not compressed yet).
    let ticksWhileCompressing = 0;
    const probe = setInterval(() => {
      if (sock.bufferedAmount >= PAYLOAD.length) ticksWhileCompressing++;
    }, 1);
    const got = h.once(client, 'message');
    const sent = new Promise((resolve) => sock.send(PAYLOAD, resolve));
    assert.ok(sock.bufferedAmount >= PAYLOAD.length, `${name}: bufferedAmount counts it`);
    assert.ok((await h.within(sent, 30000, 'send callback')) == null);
    const [data] = await h.within(got, 30000, 'message');
    clearInterval(probe);
    clock.stop();
    assert.strictEqual(data.length, PAYLOAD.length);
    assert.ok(ticksWhileCompressing > 0, `${name}: the event loop ran while compressing`);
    client.close();
    await h.once(client, 'close');
    await h.closeServer(wss);
  });
});

test('a timer keeps firing while a ~10 MB message is inflated', async () => {
  await h.both(async (lib, name) => {
    const { wss, client, sock } = await connected(lib);
    const clock = ticker();
    let lastData = -1;
    sock._socket.on('data', () => {
      lastData = clock.at();
    });
    const [data] = await h.within(
      new Promise((resolve) => {
        sock.once('message', (...args) => resolve(args));
        client.send(PAYLOAD);
      }),
      30000,
      'message'
    );
    const ticksAfterLastChunk = clock.at() - lastData;
    clock.stop();
    assert.strictEqual(data.toString(), PAYLOAD);
    // Inflating inline would emit the message within the last chunk's 'data' event.
    assert.ok(ticksAfterLastChunk > 0, `${name}: timers ran between the last chunk and the message`);
    client.close();
    await h.once(client, 'close');
    await h.closeServer(wss);
  });
});

test('mixed large and small sends keep their order, callbacks too', async () => {
  const results = await h.both(async (lib) => {
    const { wss, client, sock } = await connected(lib);
    const big1 = bigText(2, 300000);
    const big2 = bigText(3, 200000);
    const sent = [big1, 'a', big2, 'b', bigText(4, 2000), 'c'];
    const got = [];
    const done = new Promise((resolve) =>
      client.on('message', (d) => {
        got.push(d.toString());
        if (got.length === sent.length) resolve();
      })
    );
    const pinged = h.once(client, 'ping');
    const cbs = [];
    for (const [i, m] of sent.entries()) {
      sock.send(m, () => cbs.push(i));
      if (i === 1) sock.ping('p', undefined, () => cbs.push('ping'));
    }
    await h.within(Promise.all([done, pinged]), 20000, 'messages');
    await h.within(new Promise((r) => setImmediate(r)), 1000, 'tick');
    assert.deepStrictEqual(got, sent);
    client.close();
    await h.once(client, 'close');
    await h.closeServer(wss);
    return cbs;
  });
  assert.deepStrictEqual(results[1], results[0], 'callback order as ws');
  assert.deepStrictEqual(results[1], [0, 1, 'ping', 2, 3, 4, 5]);
});

/** Runs `act(sock)` right after a large send; returns what ws users observe. */
async function duringCompression(lib, act) {
  const { wss, client, sock } = await connected(lib);
  const seen = { errors: [], callbacks: [], messages: 0 };
  sock.on('error', (e) => seen.errors.push(e.message));
  client.on('error', (e) => seen.errors.push(`client: ${e.message}`));
  client.on('message', () => seen.messages++);
  const closed = h.once(sock, 'close');
  const clientClosed = h.once(client, 'close');
  const callbacks = new Promise((resolve) => {
    const cb = (err) => {
      seen.callbacks.push(err ? err.message : 'ok');
      if (seen.callbacks.length === 2) resolve();
    };
    sock.send(PAYLOAD, cb);
    sock.send('after', cb);
  });
  act(sock, client);
  const [code] = await h.within(closed, 40000, 'server close');
  const [clientCode] = await h.within(clientClosed, 40000, 'client close');
  await h.within(callbacks, 40000, 'send callbacks');
  await h.within(new Promise((r) => setTimeout(r, 50)), 1000, 'settle');
  await h.closeServer(wss);
  return { code, clientCode, ...seen };
}

test('terminate() while a message is being compressed', async () => {
  const [ws, ours] = await h.both((lib) => duringCompression(lib, (sock) => sock.terminate()));
  const msg = 'The socket was closed while data was being compressed';
  assert.deepStrictEqual(ws.callbacks, [msg, msg], 'ws');
  assert.deepStrictEqual(ours, ws);
});

test('close() while a message is being compressed sends it, then the close frame', async () => {
  const [ws, ours] = await h.both((lib) => duringCompression(lib, (sock) => sock.close(1000)));
  assert.deepStrictEqual(ws, { code: 1000, clientCode: 1000, errors: [], callbacks: ['ok', 'ok'], messages: 2 });
  assert.deepStrictEqual(ours, ws);
});

test('a close frame received while compressing: the message goes out first', async () => {
  const [ws, ours] = await h.both((lib) =>
    duringCompression(lib, (sock, client) => client.close(1000, 'bye'))
  );
  assert.strictEqual(ws.code, 1000);
  assert.deepStrictEqual(ours, ws);
});

/** The client sends a large message then `then(client)`; what the server observes. */
async function duringInflate(lib, then, onServer = () => {}) {
  const { wss, client, sock } = await connected(lib);
  const seen = { errors: [], messages: [] };
  sock.on('error', (e) => seen.errors.push(e.message));
  client.on('error', () => {});
  sock.on('message', (d) => seen.messages.push(d.length));
  let written = false;
  onServer(sock, client, () => written);
  const closed = h.once(sock, 'close');
  client.send(PAYLOAD);
  client.send('small', () => {
    written = true;
  });
  then(client);
  const [code, reason] = await h.within(closed, 40000, 'server close');
  await h.within(new Promise((r) => setTimeout(r, 50)), 1000, 'settle');
  client.terminate();
  await h.closeServer(wss);
  return { code, reason: reason.toString(), ...seen };
}

test('data received before a close frame is delivered, then the close', async () => {
  const [ws, ours] = await h.both((lib) => duringInflate(lib, (c) => c.close(1000, 'done')));
  assert.deepStrictEqual(ws, { code: 1000, reason: 'done', errors: [], messages: [PAYLOAD.length, 5] });
  assert.deepStrictEqual(ours, ws);
});

test('terminate() while a message is being inflated closes cleanly', async () => {
  // Once everything the client wrote is read, the large message is being inflated.
  const terminateOnceReceived = (sock, client, written) => {
    const t = setInterval(() => {
      if (written() && sock._socket.bytesRead >= client._socket.bytesWritten) {
        clearInterval(t);
        sock.terminate();
      }
    }, 1);
  };
  const [ws, ours] = await h.both((lib) => duringInflate(lib, () => {}, terminateOnceReceived));
  assert.deepStrictEqual(ws, { code: 1006, reason: '', errors: [], messages: [PAYLOAD.length, 5] });
  assert.deepStrictEqual(ours, ws);
});

test('zlibDeflateOptions.level is honoured (level 0 stores, as in ws)', async () => {
  const results = await h.both(async (lib) => {
    const sizes = {};
    for (const level of [0, 9]) {
      const wss = await h.listen(lib, { perMessageDeflate: { zlibDeflateOptions: { level } } });
      const server = h.once(wss, 'connection');
      const client = new h.ws(h.url(wss), { perMessageDeflate: true });
      await h.within(h.once(client, 'open'), 5000, 'open');
      const [sock] = await server;
      const before = client._socket.bytesRead;
      const got = h.once(client, 'message');
      sock.send(bigText(5, 200000));
      const [data] = await h.within(got, 10000, 'message');
      assert.strictEqual(data.length, 200000);
      sizes[level] = client._socket.bytesRead - before;
      client.close();
      await h.once(client, 'close');
      await h.closeServer(wss);
    }
    return sizes;
  });
  for (const sizes of results) {
    assert.ok(sizes[0] > 200000, `level 0 stores: ${sizes[0]}`);
    assert.ok(sizes[9] < 100000, `level 9 compresses: ${sizes[9]}`);
  }
});

test('concurrencyLimit bounds the (de)compressions in flight in the process', async () => {
  // The limiter is per process and sized by the first connection that needs it (as
  // ws's), so this runs in a fresh process. The stream transport's: the native one
  // bounds its jobs per server (README).
  const { execFileSync } = require('child_process');
  const most = (limit) => {
    const script = `
    const path = require('path');
    const Limiter = require(${JSON.stringify(require.resolve('../../npm/lib/limiter'))});
    let most = 0;
    const run = Limiter.prototype.run;
    Limiter.prototype.run = function () { run.call(this); most = Math.max(most, this.pending); };
    const { WebSocketServer } = require(${JSON.stringify(require.resolve('../../npm'))});
    const WS = require(${JSON.stringify(require.resolve('../../npm/node_modules/ws'))});
    const payload = require('crypto').randomBytes(1500000).toString('base64');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, transport: 'stream', perMessageDeflate: { concurrencyLimit: ${limit} } }, () => {
      const url = 'ws://127.0.0.1:' + wss.address().port;
      let got = 0;
      for (let i = 0; i < 4; i++) {
        const c = new WS(url, { perMessageDeflate: true });
        c.on('message', (d) => { if (d.length === payload.length && ++got === 4) { console.log(most); process.exit(0); } });
      }
    });
    let conns = [];
    wss.on('connection', (s) => { conns.push(s); if (conns.length === 4) for (const c of conns) c.send(payload); });
    setTimeout(() => process.exit(2), 20000);
  `;
    return Number(execFileSync(process.execPath, ['-e', script], { timeout: 30000 }).toString());
  };
  assert.strictEqual(most(1), 1);
  assert.strictEqual(most(2), 2);
});
