'use strict';

// Differential tests of the opening handshake: the same requests, responses and
// arguments against ws 8.23 and ferrosocket, comparing what a user sees (HTTP
// answers, wsClientError, error classes and messages, open/close).

const test = require('node:test');
const assert = require('node:assert');
const crypto = require('crypto');
const net = require('net');
const { duplexPair } = require('stream');

const h = require('./helpers');

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

async function same(scenario, ms = 10000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

/** Writes `request` on a raw socket; resolves with the answer's head and body. */
function ask(port, request) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      s.destroy();
      const [head, body = ''] = data.split('\r\n\r\n');
      const lines = head.split('\r\n');
      resolve({ status: lines[0], headers: lines.slice(1).filter((l) => !/^date:/i.test(l)).sort(), body });
    };
    s.on('data', (c) => {
      data += c.toString('latin1');
      if (data.startsWith('HTTP/1.1 101') && data.includes('\r\n\r\n')) done();
    });
    s.on('close', done);
    s.on('error', () => {});
    s.write(request);
  });
}

function request(lines) {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

const GOOD = [
  'GET / HTTP/1.1',
  'Host: 127.0.0.1',
  'Connection: Upgrade',
  'Upgrade: websocket',
  `Sec-WebSocket-Key: ${KEY}`,
  'Sec-WebSocket-Version: 13'
];

/** `GOOD` with header `name` replaced by `line` (or removed when `line` is null). */
function variant(replace) {
  let lines = GOOD.slice();
  for (const [name, line] of Object.entries(replace)) {
    const i = lines.findIndex((l) => l.toLowerCase().startsWith(name.toLowerCase()));
    if (i === -1) lines.push(line);
    else if (line === null) lines.splice(i, 1);
    else lines[i] = line;
  }
  lines = lines.filter((l) => l !== null);
  return request(lines);
}

test('server: an upgrade request without Host is accepted, as by ws', async () => {
  await same(async (lib) => {
    const wss = await h.listen(lib);
    const out = [];
    wss.on('connection', (ws, req) => out.push(['connection', req.headers.host]));
    out.push((await ask(wss.address().port, variant({ Host: null }))).status);
    await new Promise((r) => setImmediate(r));
    await h.closeServer(wss);
    return out;
  });
});

test('server: checks run in ws order, with ws answers and wsClientError messages', async () => {
  // Each request has every fault from one step on; fixing them one by one walks
  // through ws's order of checks.
  const requests = [
    variant({ GET: 'POST / HTTP/1.1', Upgrade: 'Upgrade: h2c', 'Sec-WebSocket-Key': 'Sec-WebSocket-Key: bad', 'Sec-WebSocket-Version': 'Sec-WebSocket-Version: 99', x: 'Sec-WebSocket-Protocol: a,,b' }),
    variant({ Upgrade: 'Upgrade: h2c', 'Sec-WebSocket-Key': 'Sec-WebSocket-Key: bad', 'Sec-WebSocket-Version': 'Sec-WebSocket-Version: 99', x: 'Sec-WebSocket-Protocol: a,,b' }),
    variant({ Upgrade: 'Upgrade: websocket, h2c', 'Sec-WebSocket-Key': 'Sec-WebSocket-Key: bad' }),
    variant({ 'Sec-WebSocket-Key': 'Sec-WebSocket-Key: bad', 'Sec-WebSocket-Version': 'Sec-WebSocket-Version: 99', x: 'Sec-WebSocket-Protocol: a,,b' }),
    variant({ 'Sec-WebSocket-Version': 'Sec-WebSocket-Version: 99', x: 'Sec-WebSocket-Protocol: a,,b' }),
    variant({ 'Sec-WebSocket-Version': null }),
    variant({ x: 'Sec-WebSocket-Protocol: a,,b', y: 'Sec-WebSocket-Extensions: permessage-deflate; foo' }),
    variant({ GET: 'GET /elsewhere HTTP/1.1', x: 'Sec-WebSocket-Protocol: a,,b' }),
    variant({ y: 'Sec-WebSocket-Extensions: permessage-deflate; foo' }),
    variant({ y: 'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=7' }),
    variant({ y: 'Sec-WebSocket-Extensions: x-other, permessage-deflate' }),
    // ws reads neither Connection nor a version-13 spelling other than the number.
    variant({ Connection: null, 'Sec-WebSocket-Version': 'Sec-WebSocket-Version: 8' }),
    variant({ 'Sec-WebSocket-Key': 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==' })
  ];
  await same(async (lib) => {
    const out = [];
    const wss = await h.listen(lib, { path: '/', perMessageDeflate: true });
    const port = wss.address().port;
    for (const r of requests) out.push(await ask(port, r));
    wss.on('wsClientError', (err, socket) => {
      out.push(['wsClientError', err.constructor.name, err.message]);
      socket.destroy();
    });
    for (const r of requests) out.push((await ask(port, r)).status);
    await h.closeServer(wss);
    return out;
  }, 20000);
});

test('server: a request whose Upgrade header Node cannot read (too many headers) is "Invalid Upgrade header"', async () => {
  // CVE-2024-37890 class: Node keeps the first 2000 header fields of req.headers.
  // Short fields, so that the count (not Node's 16 KiB size bound) is what is hit.
  const filler = Array.from({ length: 2000 }, (_, i) => `${i.toString(36)}: y`);
  const lines = [GOOD[0], ...filler, ...GOOD.slice(1)];
  await same(async (lib) => {
    const out = [];
    // Node reads the first 2,000 fields and ignores the rest; the native transport
    // answers such a head 431 (README).
    const wss = await h.listen(lib, { transport: 'stream' });
    out.push(await ask(wss.address().port, request(lines)));
    wss.on('wsClientError', (err, socket) => {
      out.push(['wsClientError', err.message]);
      socket.destroy();
    });
    await ask(wss.address().port, request(lines));
    await h.closeServer(wss);
    return out;
  });
});

/** What @fastify/websocket's injectWS does: a headers-only request on an in-memory stream. */
function inject(lib, wss, headers, extra = {}) {
  return new Promise((resolve) => {
    const [serverStream, clientStream] = duplexPair();
    const out = [];
    const client = new lib(null, undefined, {});
    let answer = '';
    const onData = (chunk) => {
      answer += chunk.toString('latin1');
      if (!answer.includes('\r\n\r\n')) return;
      clientStream.removeListener('data', onData);
      out.push(answer.split('\r\n')[0]);
      if (!answer.startsWith('HTTP/1.1 101')) {
        out.push(answer.split('\r\n\r\n')[1]);
        return resolve(out);
      }
      client._isServer = false;
      client.setSocket(clientStream, Buffer.alloc(0), { maxPayload: 0 });
      client.on('message', (data) => {
        out.push(['echo', data.toString()]);
        client.close();
      });
      client.on('close', (code) => {
        out.push(['close', code]);
        resolve(out);
      });
      client.send('over memory');
    };
    clientStream.on('data', onData);
    const req = { method: 'GET', url: '/', httpVersion: '1.1', headers, ...extra };
    try {
      wss.handleUpgrade(req, serverStream, Buffer.alloc(0), (ws) => {
        out.push('connection');
        ws.on('message', (data) => ws.send(data.toString()));
      });
    } catch (err) {
      out.push(['threw', err.constructor.name]);
      resolve(out);
    }
  });
}

test('handleUpgrade reads req.headers only (a request on an in-memory stream, as @fastify/websocket injects)', async () => {
  await same(async (lib) => {
    const wss = new lib.WebSocketServer({ noServer: true });
    const out = [];
    out.push(
      await inject(lib, wss, {
        connection: 'upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': 13,
        'sec-websocket-key': crypto.randomBytes(16).toString('base64')
      })
    );
    out.push(await inject(lib, wss, { upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'x' }));
    return out;
  });
});

test('handleUpgrade never throws for a malformed request object: it answers', async () => {
  // Requests ws itself throws a TypeError for; ferrosocket answers them instead.
  const cases = [
    [{}, { headers: undefined, method: undefined }, 'HTTP/1.1 405 Method Not Allowed'],
    [null, {}, 'HTTP/1.1 400 Bad Request'],
    [{ upgrade: 5, 'sec-websocket-key': KEY, 'sec-websocket-version': '13' }, {}, 'HTTP/1.1 400 Bad Request'],
    [{ upgrade: 'websocket', 'sec-websocket-key': KEY, 'sec-websocket-version': '13' }, { url: undefined }, 'HTTP/1.1 400 Bad Request']
  ];
  for (const [headers, extra, status] of cases) {
    const wss = new h.ferrosocket.WebSocketServer({ noServer: true, path: '/' });
    const out = await h.within(inject(h.ferrosocket, wss, headers, extra), 5000, 'answer');
    assert.strictEqual(out[0], status, JSON.stringify([headers, extra, out]));
  }
  // verifyClient on a request without a socket.
  const wss = new h.ferrosocket.WebSocketServer({ noServer: true, verifyClient: (info) => !info.secure });
  const out = await inject(h.ferrosocket, wss, {
    upgrade: 'websocket',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13'
  });
  assert.deepStrictEqual(out, ['connection', 'HTTP/1.1 101 Switching Protocols', ['echo', 'over memory'], ['close', 1005]]);
});

/** A raw server answering every upgrade with `respond(key)` (a full head). */
function rawResponder(respond) {
  return new Promise((resolve) => {
    const sockets = new Set();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      let head = '';
      socket.on('data', (chunk) => {
        if (head === null) return;
        head += chunk.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(head)[1];
        head = null;
        socket.write(respond(crypto.createHash('sha1').update(key + GUID).digest('base64')));
      });
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        close: () =>
          new Promise((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          })
      })
    );
  });
}

test('client: checks run in ws order, with ws messages (unexpected extensions, unreadable Upgrade header)', async () => {
  const filler = Array.from({ length: 2000 }, (_, i) => `${i.toString(36)}: y`).join('\r\n');
  const cases = [
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x${acc}\r\nSec-WebSocket-Protocol: z\r\n\r\n`],
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x${acc}\r\nSec-WebSocket-Protocol: z\r\n\r\n`],
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\nSec-WebSocket-Protocol: z\r\nSec-WebSocket-Extensions: foo\r\n\r\n`],
    [{ protocols: ['a'] }, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\nSec-WebSocket-Protocol: z\r\n\r\n`],
    [{ protocols: ['a'] }, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\n\r\n`],
    [{ perMessageDeflate: false }, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`],
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\nSec-WebSocket-Extensions: foo, permessage-deflate\r\n\r\n`],
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\nSec-WebSocket-Extensions: permessage-deflate; bar\r\n\r\n`],
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\nSec-WebSocket-Extensions: permessage-deflate; =\r\n\r\n`],
    // Node's parser keeps 2000 fields: the Upgrade header after them cannot be read.
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n${filler}\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${acc}\r\n\r\n`],
    // Accepted: a subprotocol and permessage-deflate agreed.
    [{ protocols: ['a', 'b'] }, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: ${acc}\r\nSec-WebSocket-Protocol: b\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n`],
    // Node emits 'upgrade' only with Connection: upgrade; otherwise ws and we see a response.
    [{}, (acc) => `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ${acc}\r\n\r\n`]
  ];
  await same(async (lib) => {
    const out = [];
    for (const [opts, respond] of cases) {
      const srv = await rawResponder(respond);
      const { protocols, ...options } = opts;
      const c = new lib(`ws://127.0.0.1:${srv.port}`, protocols, options);
      c.on('open', () => {
        out.push(['open', c.protocol, c.extensions]);
        c.terminate();
      });
      c.on('error', (err) => out.push(['error', err.constructor.name, err.message]));
      const [code] = await h.once(c, 'close');
      out.push(['close', code]);
      await srv.close();
    }
    return out;
  }, 20000);
});

test('client: invalid, duplicated or non-string subprotocols throw ws\'s SyntaxError', async () => {
  await same(async (lib) => {
    const url = 'ws://127.0.0.1:1';
    return [
      [null],
      [1],
      [undefined],
      [{}],
      ['a', 'a'],
      ['a b'],
      [''],
      ['a,b'],
      5,
      'a b',
      { protocols: [null] },
      { protocols: 'x y' }
    ].map((p) => h.thrown(() => new lib(url, p)));
  });
});

test('wrong-typed options reach no native conversion: they behave as in ws', async () => {
  const serverOptions = [
    { maxPayload: '10' },
    { maxPayload: 'lots' },
    { maxPayload: null },
    { perMessageDeflate: 'yes' },
    { perMessageDeflate: { threshold: '0', zlibDeflateOptions: 5 } },
    { skipUTF8Validation: 'no' },
    { maxFragments: '0' }
  ];
  const clientOptions = [
    { maxPayload: '10' },
    { perMessageDeflate: 'yes' },
    { perMessageDeflate: { serverNoContextTakeover: 1, threshold: null } },
    { perMessageDeflate: 0 },
    { skipUTF8Validation: 1 }
  ];
  const round = async (lib, serverOpts, clientOpts) => {
    const out = [];
    const wss = await h.listen(lib, serverOpts);
    wss.on('connection', (ws) => {
      ws.on('error', (err) => out.push(['server error', h.errorInfo(err)]));
      ws.on('message', (data) => ws.send(data));
    });
    const c = new lib(h.url(wss), clientOpts);
    c.on('error', (err) => out.push(['client error', h.errorInfo(err)]));
    c.on('open', () => {
      out.push(['open', c.extensions]);
      c.send('x'.repeat(20));
    });
    c.on('message', (data) => {
      out.push(['echo', data.length]);
      c.close();
    });
    const [code] = await h.once(c, 'close');
    out.push(['close', code]);
    await h.closeServer(wss);
    return out;
  };
  await same(async (lib) => {
    const out = [];
    for (const o of serverOptions) out.push(await round(lib, o, {}));
    for (const o of clientOptions) out.push(await round(lib, {}, o));
    return out;
  }, 20000);
});
