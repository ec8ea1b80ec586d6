'use strict';

// Small ws behaviours code relies on, run against ws and ferrosocket: falsy
// payloads, close() without a code, and the on{event} attributes.

const test = require('node:test');
const assert = require('node:assert');

const h = require('./helpers');

async function same(scenario, ms = 8000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

async function pair(lib) {
  const wss = await h.listen(lib);
  const accepted = new Promise((resolve) => wss.on('connection', resolve));
  const client = new lib(h.url(wss));
  await h.once(client, 'open');
  return { wss, client, server: await accepted };
}

test('falsy payloads are sent as empty messages; close(undefined, reason) sends no code', async () => {
  await same(async (lib) => {
    const log = [];
    const { wss, client, server } = await pair(lib);
    server.on('message', (m, binary) => log.push(['message', m.length, binary]));
    for (const v of [0, '', null, undefined, false]) {
      client.send(v, (err) => log.push(['callback', String(v), err == null]));
    }
    await new Promise((r) => setTimeout(r, 100));
    server.close(undefined, 'ignored without a code');
    const [code, reason] = await h.once(client, 'close');
    log.push(['close', code, String(reason)]);
    await h.closeServer(wss);
    return log;
  });
});

test('on{event} attributes: replace, clear, non-functions', async () => {
  await same(async (lib) => {
    const log = [];
    const { wss, client } = await pair(lib);
    const f1 = () => {};
    const f2 = () => {};
    client.onmessage = f1;
    log.push([client.onmessage === f1, client.listenerCount('message')]);
    client.onmessage = f2;
    log.push([client.onmessage === f2, client.listenerCount('message')]);
    client.onmessage = null;
    log.push([client.onmessage, client.listenerCount('message')]);
    client.onmessage = 'not a function';
    log.push([client.onmessage, client.listenerCount('message')]);
    client.onmessage = f1;
    client.onmessage = undefined;
    log.push([client.onmessage, client.listenerCount('message')]);
    client.terminate();
    await h.closeServer(wss);
    return log;
  });
});
