'use strict';

// ws's Sender as packages use it: socket.io frames a broadcast once with
// Sender.frame() and engine.io queues it with ws._sender.sendFrame(), in order
// with the socket's other sends.

const test = require('node:test');
const assert = require('node:assert');

const h = require('./helpers');

async function same(scenario, ms = 8000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

test('Sender is exported (CommonJS and ESM)', async () => {
  assert.strictEqual(typeof h.ferrosocket.Sender.frame, 'function');
  const esm = await import('../../npm/wrapper.mjs');
  assert.strictEqual(esm.Sender, h.ferrosocket.Sender);
});

test('Sender.frame bytes match ws for masked and unmasked frames', async () => {
  const cases = [
    ['hi', { fin: true, rsv1: false, opcode: 1, mask: false }],
    [Buffer.alloc(300, 1), { fin: false, rsv1: true, opcode: 2, mask: false }],
    [Buffer.alloc(70000, 2), { fin: true, rsv1: false, opcode: 2, mask: false }],
    ['ping', { fin: true, rsv1: false, opcode: 9, mask: true, generateMask: (m) => m.fill(5) }]
  ];
  for (const [data, options] of cases) {
    const expected = Buffer.concat(h.ws.Sender.frame(Buffer.from(data), { ...options, readOnly: true }));
    const actual = Buffer.concat(h.ferrosocket.Sender.frame(data, options));
    assert.deepStrictEqual(actual, expected, JSON.stringify(options));
  }
});

test('a frame made once is queued in order with send() through _sender.sendFrame', async () => {
  await same(async (lib) => {
    const got = [];
    const wss = await h.listen(lib);
    wss.on('connection', (s) => {
      const frame = lib.Sender.frame(Buffer.from('broadcast'), {
        readOnly: false,
        mask: false,
        rsv1: false,
        opcode: 1,
        fin: true
      });
      s.send('a');
      s._sender.sendFrame(frame, (err) => got.push(['callback', err === undefined || err === null]));
      s.send('b');
    });
    const c = new lib(h.url(wss));
    await h.within(
      new Promise((resolve) =>
        c.on('message', (m) => {
          got.push(['message', String(m)]);
          if (String(m) === 'b') resolve();
        })
      ),
      4000,
      'messages'
    );
    c.terminate();
    await h.closeServer(wss);
    return got.filter((e) => e[0] === 'message').concat(got.filter((e) => e[0] === 'callback'));
  });
});
