'use strict';

// createWebSocketStream: a Duplex over a WebSocket, compared with ws.

const test = require('node:test');
const assert = require('node:assert');

const h = require('./helpers');

test('createWebSocketStream pipes data both ways and ends cleanly', async () => {
  const results = await h.both(async (lib) => {
    const wss = await h.listen(lib);
    wss.on('connection', (sock) => {
      const duplex = lib.createWebSocketStream(sock);
      duplex.on('error', () => {});
      duplex.pipe(duplex);
    });
    const client = new lib(h.url(wss));
    const duplex = lib.createWebSocketStream(client, { encoding: 'utf8' });
    const chunks = [];
    duplex.on('data', (c) => chunks.push(c));
    duplex.write('hello ');
    duplex.write('world');
    await h.within(
      new Promise((r) => {
        const t = setInterval(() => {
          if (chunks.join('') === 'hello world') {
            clearInterval(t);
            r();
          }
        }, 5);
      }),
      3000,
      'stream echo'
    );
    duplex.end();
    await h.within(new Promise((r) => duplex.on('close', r)), 3000, 'duplex close');
    await h.closeServer(wss);
    return [chunks.join(''), client.readyState];
  });
  assert.deepStrictEqual(results[1], results[0]);
});
