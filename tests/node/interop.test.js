'use strict';

// Interop both ways: ferrosocket client ↔ ws server and ws client ↔ ferrosocket
// server, with and without permessage-deflate; fragmentation; large messages.

const test = require('node:test');
const assert = require('node:assert');
const crypto = require('crypto');

const h = require('./helpers');

const pairs = [
  ['ferrosocket client -> ws server', h.ferrosocket, h.ws],
  ['ws client -> ferrosocket server', h.ws, h.ferrosocket],
  ['ferrosocket client -> ferrosocket server', h.ferrosocket, h.ferrosocket]
];

async function echoPair(ClientLib, ServerLib, pmd, serverOptions = {}) {
  const wss = await h.listen(ServerLib, { perMessageDeflate: pmd, ...serverOptions });
  wss.on('connection', (sock) => {
    sock.on('error', () => {});
    sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
  });
  const client = new ClientLib(h.url(wss), { perMessageDeflate: pmd });
  await h.within(h.once(client, 'open'), 3000, 'open');
  return { wss, client };
}

function collect(client, n) {
  return new Promise((resolve, reject) => {
    const got = [];
    client.on('error', reject);
    client.on('message', (data, isBinary) => {
      got.push([isBinary, Buffer.from(data)]);
      if (got.length === n) resolve(got);
    });
  });
}

for (const [name, ClientLib, ServerLib] of pairs) {
  for (const pmd of [false, true]) {
    test(`${name}, perMessageDeflate=${pmd}: messages of many sizes, order kept`, async () => {
      const { wss, client } = await echoPair(ClientLib, ServerLib, pmd);
      assert.strictEqual(client.extensions, pmd ? 'permessage-deflate' : '');
      const sizes = [0, 1, 125, 126, 1023, 1024, 65535, 65536, 100000];
      const sent = [];
      for (const size of sizes) {
        const buf = crypto.randomBytes(size);
        sent.push([true, buf]);
        client.send(buf);
        const text = 'é'.repeat(size >> 1);
        sent.push([false, Buffer.from(text)]);
        client.send(text);
      }
      const got = await h.within(collect(client, sent.length), 10000, 'echo');
      assert.strictEqual(got.length, sent.length);
      for (let i = 0; i < sent.length; i++) {
        assert.strictEqual(got[i][0], sent[i][0], `kind of #${i}`);
        assert.ok(got[i][1].equals(sent[i][1]), `payload of #${i}`);
      }
      client.close(1000, 'ok');
      const [code, reason] = await h.once(client, 'close');
      assert.deepStrictEqual([code, reason.toString()], [1000, 'ok']);
      await h.closeServer(wss);
    });

    test(`${name}, perMessageDeflate=${pmd}: fragmented send (fin: false)`, async () => {
      const { wss, client } = await echoPair(ClientLib, ServerLib, pmd);
      client.send('frag', { fin: false });
      client.send('men', { fin: false });
      client.send('ted', { fin: true });
      client.send(Buffer.from([1, 2]), { fin: false, binary: true });
      client.send(Buffer.from([3]), { fin: true, binary: true });
      const got = await h.within(collect(client, 2), 5000, 'fragments');
      assert.deepStrictEqual(
        got.map(([b, d]) => [b, d.toString('hex')]),
        [
          [false, Buffer.from('fragmented').toString('hex')],
          [true, '010203']
        ]
      );
      client.close();
      await h.once(client, 'close');
      await h.closeServer(wss);
    });

    test(`${name}, perMessageDeflate=${pmd}: 16 MiB message both ways`, async () => {
      const { wss, client } = await echoPair(ClientLib, ServerLib, pmd);
      const big = Buffer.alloc(16 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
      const sentCb = new Promise((resolve) => client.send(big, resolve));
      const [[isBinary, data]] = await h.within(collect(client, 1), 30000, '16 MiB echo');
      assert.ok((await sentCb) == null);
      assert.strictEqual(isBinary, true);
      assert.strictEqual(data.length, big.length);
      assert.ok(data.equals(big));
      client.close();
      await h.once(client, 'close');
      await h.closeServer(wss);
    });
  }

  test(`${name}: maxPayload on the server closes with 1009`, async () => {
    const { wss, client } = await echoPair(ClientLib, ServerLib, false, { maxPayload: 1024 });
    client.on('error', () => {});
    client.send(Buffer.alloc(2048));
    const [code] = await h.within(h.once(client, 'close'), 5000, 'close');
    assert.strictEqual(code, 1009);
    await h.closeServer(wss);
  });

  test(`${name}: ping/pong payloads and many small messages`, async () => {
    const { wss, client } = await echoPair(ClientLib, ServerLib, false);
    const pong = h.once(client, 'pong');
    client.ping('hello');
    assert.strictEqual((await h.within(pong, 3000, 'pong'))[0].toString(), 'hello');
    const n = 5000;
    const done = collect(client, n);
    for (let i = 0; i < n; i++) client.send(`m${i}`);
    const got = await h.within(done, 10000, 'burst');
    for (let i = 0; i < n; i++) assert.strictEqual(got[i][1].toString(), `m${i}`);
    client.close();
    await h.once(client, 'close');
    await h.closeServer(wss);
  });
}
