'use strict';

// Differential tests: the same scenario against `ws` and `ferrosocket`, comparing
// what a user observes (events and their order/arguments, errors, close codes,
// readyState, bufferedAmount).

const test = require('node:test');
const assert = require('node:assert');
const http = require('http');

const h = require('./helpers');

/** Runs `scenario(lib)` for both libraries and asserts the logs are equal. */
async function same(scenario, ms = 8000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

test('exports and constants match ws', () => {
  for (const lib of [h.ws, h.ferrosocket]) {
    assert.strictEqual(lib.WebSocket, lib);
    assert.strictEqual(lib.Server, lib.WebSocketServer);
    assert.strictEqual(typeof lib.createWebSocketStream, 'function');
  }
  const shape = (lib) => ({
    statics: [lib.CONNECTING, lib.OPEN, lib.CLOSING, lib.CLOSED],
    proto: [lib.prototype.CONNECTING, lib.prototype.OPEN, lib.prototype.CLOSING, lib.prototype.CLOSED],
    methods: ['send', 'ping', 'pong', 'close', 'terminate', 'pause', 'resume', 'addEventListener', 'removeEventListener'].map(
      (m) => typeof lib.prototype[m]
    ),
    serverMethods: ['address', 'close', 'handleUpgrade', 'shouldHandle'].map((m) => typeof lib.WebSocketServer.prototype[m])
  });
  assert.deepStrictEqual(shape(h.ferrosocket), shape(h.ws));
});

test('misuse throws the same errors', async () => {
  await same(async (lib) => {
    const out = [];
    out.push(h.thrown(() => new lib('not a url')));
    out.push(h.thrown(() => new lib('ftp://127.0.0.1')));
    out.push(h.thrown(() => new lib('ws://127.0.0.1/#frag')));
    out.push(h.thrown(() => new lib('ws://127.0.0.1', { protocolVersion: 7 })));
    out.push(h.thrown(() => new lib('ws://127.0.0.1', ['a', 'a'])));
    out.push(h.thrown(() => new lib('ws://127.0.0.1', ['a b'])));
    out.push(h.thrown(() => new lib.WebSocketServer({})));
    out.push(h.thrown(() => new lib.WebSocketServer({ port: 0, noServer: true })));
    out.push(h.thrown(() => new lib.WebSocketServer({ server: http.createServer(), noServer: true })));
    const ns = new lib.WebSocketServer({ noServer: true });
    out.push(h.thrown(() => ns.address()));
    // Sending while CONNECTING.
    const wss = await h.listen(lib);
    const client = new lib(h.url(wss));
    out.push(h.thrown(() => client.send('x')));
    out.push(h.thrown(() => client.ping()));
    out.push(h.thrown(() => client.pong()));
    await h.once(client, 'open');
    out.push(h.thrown(() => client.close(999)));
    out.push(h.thrown(() => client.close(1004)));
    out.push(h.thrown(() => client.close('abc')));
    out.push(h.thrown(() => client.close(1000, 'x'.repeat(124))));
    out.push(h.thrown(() => client.ping(Buffer.alloc(126))));
    out.push(h.thrown(() => client.pong(Buffer.alloc(126))));
    client.close(1000);
    await h.once(client, 'close');
    await h.closeServer(wss);
    return out;
  });
});

test('echo session: events, order, readyState, close code and reason', async () => {
  // The server's and the client's events are compared each in their own order: which
  // endpoint sees the end of the connection first (both in this process) depends on
  // who owns the sockets, as it would across two processes.
  const log = await same(async (lib) => {
    const log = [];
    const serverLog = [];
    const wss = await h.listen(lib);
    wss.on('connection', (sock, req) => {
      serverLog.push(['server connection', sock.readyState, sock.protocol, typeof req.url]);
      sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
      sock.on('ping', (d) => serverLog.push(['server ping', d.toString()]));
      sock.on('close', (code, reason) => serverLog.push(['server close', code, reason.toString(), sock.readyState]));
    });
    const client = new lib(h.url(wss, '/x?y=1'), 'chat');
    log.push(['url', client.url.replace(/:\d+/, ':P'), client.readyState]);
    client.on('upgrade', (res) => log.push(['upgrade', res.statusCode]));
    client.on('open', () => {
      log.push(['open', client.readyState, client.protocol, client.extensions]);
      client.send('hello');
      client.send(Buffer.from([1, 2, 3]));
      client.send(new Uint8Array([4, 5]).buffer);
      client.send(42);
      client.ping('pi');
    });
    let n = 0;
    client.on('message', (data, isBinary) => {
      log.push(['message', Buffer.isBuffer(data), data.toString('hex'), isBinary]);
      if (++n === 4) client.close(4000, 'done');
    });
    client.on('pong', (d) => log.push(['pong', d.toString()]));
    const [code, reason] = await h.once(client, 'close');
    log.push(['close', code, reason.toString(), client.readyState]);
    await h.waitFor(() => serverLog.length === 3, 5000, 'server close');
    await h.closeServer(wss);
    return [...serverLog, ...log];
  });
  assert.ok(log.some((e) => e[0] === 'close' && e[1] === 4000));
});

test('server-initiated close with a reason, client sees it; wasClean via EventTarget', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    wss.on('connection', (sock) => {
      sock.close(1001, 'going away');
      log.push(['server readyState', sock.readyState]);
    });
    const client = new lib(h.url(wss));
    client.onopen = (ev) => log.push(['onopen', ev.type, ev.target === client]);
    client.addEventListener('close', (ev) => log.push(['close event', ev.code, ev.reason, ev.wasClean]));
    await h.once(client, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('connection refused: error then close, bufferedAmount after close', async () => {
  await same(async (lib) => {
    const log = [];
    const srv = http.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const port = srv.address().port;
    await new Promise((r) => srv.close(r));
    const client = new lib(`ws://127.0.0.1:${port}`);
    client.on('error', (err) => log.push(['error', err.code, client.readyState]));
    await h.once(client, 'close').then(([code, reason]) => log.push(['close', code, reason.length, client.readyState]));
    client.send('abcd', (err) => log.push(['send cb', err.message]));
    client.send(Buffer.alloc(10));
    log.push(['bufferedAmount', client.bufferedAmount]);
    await new Promise((r) => setImmediate(r));
    return log;
  });
});

test('unexpected response and verifyClient refusals', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib, {
      verifyClient: (info, cb) => {
        if (info.req.url === '/deny') cb(false, 403, 'Nope', { 'X-Why': 'test' });
        else cb(true);
      }
    });
    const a = new lib(h.url(wss, '/deny'));
    a.on('error', (err) => log.push(['error', err.message]));
    await h.once(a, 'close');
    const b = new lib(h.url(wss, '/deny'));
    await new Promise((resolve) => {
      b.on('unexpected-response', (req, res) => {
        log.push(['unexpected-response', res.statusCode, res.headers['x-why'], b.readyState]);
        req.destroy();
        res.destroy();
        resolve();
      });
    });
    b.on('error', (err) => log.push(['error b', err.message]));
    await h.closeServer(wss);

    const sync = await h.listen(lib, { verifyClient: () => false });
    const c = new lib(h.url(sync));
    c.on('error', (err) => log.push(['error c', err.message]));
    await h.once(c, 'close');
    await h.closeServer(sync);
    return log;
  });
});

test('subprotocol negotiation with handleProtocols; path routing', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib, {
      path: '/chat',
      handleProtocols: (protocols) => {
        log.push(['offered', [...protocols]]);
        return protocols.has('b') ? 'b' : false;
      }
    });
    wss.on('headers', (headers) => log.push(['headers', headers.filter((x) => !/Accept/.test(x))]));
    const c = new lib(h.url(wss, '/chat'), ['a', 'b']);
    await h.once(c, 'open');
    log.push(['protocol', c.protocol]);
    c.close();
    await h.once(c, 'close');
    const d = new lib(h.url(wss, '/other'));
    d.on('error', (err) => log.push(['error', err.message]));
    await h.once(d, 'close');
    const e = new lib(h.url(wss, '/chat'), ['z']);
    e.on('error', (err) => log.push(['error e', err.message]));
    await h.once(e, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('invalid upgrade requests get the same HTTP answers (and wsClientError)', async () => {
  const net = require('net');
  const ask = (port, req) =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let data = '';
      s.on('data', (c) => (data += c));
      s.on('close', () => resolve(data.split('\r\n')[0]));
      s.on('error', () => {});
      s.write(req);
    });
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    const port = wss.address().port;
    const base = 'Host: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n';
    log.push(await ask(port, `GET / HTTP/1.1\r\n${base}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n`));
    log.push(
      await ask(port, `GET / HTTP/1.1\r\n${base}Sec-WebSocket-Version: 99\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`)
    );
    log.push(await ask(port, `POST / HTTP/1.1\r\n${base}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`));
    wss.on('wsClientError', (err, socket) => {
      log.push(['wsClientError', err.message]);
      socket.destroy();
    });
    await ask(port, `GET / HTTP/1.1\r\n${base}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n`);
    await h.closeServer(wss);
    return log;
  });
});

const malformed = [
  ['unmasked client frame', h.frame({ opcode: 1, payload: 'hi', mask: false })],
  ['RSV1 without extension', h.frame({ opcode: 1, rsv: 4, payload: 'hi' })],
  ['reserved opcode', h.frame({ opcode: 3, payload: 'hi' })],
  ['invalid UTF-8', h.frame({ opcode: 1, payload: Buffer.from([0xff, 0xfe]) })],
  ['fragmented ping', h.frame({ opcode: 9, fin: false, payload: 'x' })],
  ['continuation without start', h.frame({ opcode: 0, payload: 'x' })],
  ['close with invalid code', h.frame({ opcode: 8, payload: Buffer.from([0x03, 0xe7]) })],
  ['close with 1-byte payload', h.frame({ opcode: 8, payload: Buffer.from([0x03]) })],
  ['too big for maxPayload', h.frame({ opcode: 2, payload: Buffer.alloc(2000) })]
];

for (const [name, bytes] of malformed) {
  test(`server: malformed frame from a raw socket: ${name}`, async () => {
    await same(async (lib) => {
      const log = [];
      const wss = await h.listen(lib, { maxPayload: 1000 });
      const serverClosed = h.firstClose(wss);
      wss.on('connection', (sock) => {
        sock.on('error', (err) => log.push(['error', h.errorInfo(err)]));
      });
      const raw = await h.rawClient(wss.address().port);
      raw.socket.write(bytes);
      await h.within(new Promise((r) => raw.socket.on('close', r)), 4000, 'socket close');
      log.push(await h.within(serverClosed, 4000, 'server close'));
      log.push(['frames', raw.received.map((f) => [f.opcode, f.opcode === 8 ? f.payload.readUInt16BE(0) : null])]);
      await h.closeServer(wss);
      return log;
    });
  });
}

test('client: malformed frames from a raw server', async () => {
  const cases = [
    h.frame({ opcode: 1, payload: 'hi', mask: true }),
    h.frame({ opcode: 1, payload: Buffer.from([0xc3, 0x28]), mask: false }),
    h.frame({ opcode: 0xb, payload: 'x', mask: false })
  ];
  for (const bytes of cases) {
    await same(async (lib) => {
      const log = [];
      const srv = await h.rawServer(bytes);
      const c = new lib(`ws://127.0.0.1:${srv.port}`);
      c.on('open', () => log.push(['open']));
      c.on('error', (err) => log.push(['error', h.errorInfo(err), c.readyState]));
      const [code] = await h.once(c, 'close');
      log.push(['close', code]);
      await new Promise((r) => setTimeout(r, 50));
      const sent = Buffer.concat(srv.received);
      log.push(['client sent close frame', sent.length > 0 ? sent[0] : null]);
      await srv.close();
      return log;
    });
  }
});

test('client: bad handshake answers', async () => {
  await same(async (lib) => {
    const log = [];
    const srv = await h.rawServer(null, { accept: 'wrong' });
    const c = new lib(`ws://127.0.0.1:${srv.port}`);
    c.on('error', (err) => log.push(['error', err.message]));
    const [code] = await h.once(c, 'close');
    log.push(['close', code]);
    await srv.close();
    return log;
  });
});

test('binaryType conversions', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    wss.on('connection', (sock) => {
      for (let i = 0; i < 4; i++) sock.send(Buffer.from([i, 1, 2]));
      sock.send('text');
    });
    const c = new lib(h.url(wss));
    const types = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];
    let i = 0;
    c.binaryType = 'bogus';
    log.push(c.binaryType);
    c.binaryType = types[0];
    const done = new Promise((resolve) => {
      c.on('message', async (data, isBinary) => {
        let desc;
        if (Buffer.isBuffer(data)) desc = ['buffer', data.toString('hex')];
        else if (data instanceof ArrayBuffer) desc = ['arraybuffer', Buffer.from(data).toString('hex')];
        else if (Array.isArray(data)) desc = ['fragments', Buffer.concat(data).toString('hex')];
        else desc = ['blob', data.size];
        log.push([desc, isBinary]);
        i++;
        if (i < 4) c.binaryType = types[i];
        if (i === 5) resolve();
      });
    });
    await done;
    c.close();
    await h.once(c, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('EventTarget: once, handleEvent objects, duplicates, on* attributes', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    wss.on('connection', (sock) => {
      sock.send('a');
      sock.send(Buffer.from('b'));
    });
    const c = new lib(h.url(wss));
    const obj = { handleEvent: (ev) => log.push(['handleEvent', ev.type, ev.data]) };
    const fn = (ev) => log.push(['fn', ev.type, typeof ev.data]);
    c.addEventListener('message', obj, { once: true });
    c.addEventListener('message', fn);
    c.addEventListener('message', fn);
    c.onmessage = (ev) => log.push(['onmessage', ev.data.toString()]);
    log.push(['onmessage is fn', typeof c.onmessage, c.onerror]);
    c.addEventListener('bogus', fn);
    await new Promise((r) => {
      let n = 0;
      c.on('message', () => ++n === 2 && r());
    });
    c.removeEventListener('message', fn);
    c.onmessage = null;
    log.push(['listeners', c.listenerCount('message')]);
    c.close();
    await h.once(c, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('pause and resume hold messages', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    wss.on('connection', (sock) => {
      for (let i = 0; i < 5; i++) sock.send(String(i));
    });
    const c = new lib(h.url(wss));
    await new Promise((resolve) => {
      c.on('message', (d) => {
        log.push(['msg', d.toString(), c.isPaused]);
        if (d.toString() === '1') {
          c.pause();
          log.push(['paused', c.isPaused]);
          setTimeout(() => c.resume(), 50);
        }
        if (d.toString() === '4') resolve();
      });
    });
    c.close();
    await h.once(c, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('terminate: close code 1006 on both sides; send after close callback', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    const serverClosed = new Promise((r) =>
      wss.on('connection', (sock) => sock.on('close', (code) => r(code)))
    );
    const c = new lib(h.url(wss));
    await h.once(c, 'open');
    c.terminate();
    log.push(['after terminate', c.readyState]);
    const [code] = await h.once(c, 'close');
    log.push(['client close', code, c.readyState]);
    log.push(['server close', await serverClosed]);
    c.send('x', (err) => log.push(['send cb', err.message]));
    c.ping('y', undefined, (err) => log.push(['ping cb', err.message]));
    await new Promise((r) => setImmediate(r));
    await h.closeServer(wss);
    return log;
  });
});

test('server close(): clients, close event and "not running" error', async () => {
  await same(async (lib) => {
    const log = [];
    const srv = http.createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const wss = new lib.WebSocketServer({ server: srv });
    wss.on('connection', (s) => log.push(['clients', wss.clients.size, s.readyState]));
    const c = new lib(`ws://127.0.0.1:${srv.address().port}`);
    await h.once(c, 'open');
    const closed = new Promise((r) => wss.close(() => r()));
    c.close();
    await closed;
    log.push(['closed', wss.clients.size]);
    await new Promise((r) => wss.close((err) => (log.push(['again', err.message]), r())));
    await new Promise((r) => srv.close(r));
    return log;
  });
});

for (const pmd of [false, true]) {
  test(`close while echoes are in flight (perMessageDeflate=${pmd})`, async () => {
    await same(async (lib) => {
      // Each endpoint's own order is compared (across the two processes' sides the
      // interleaving depends on ws's asynchronous zlib).
      const log = [];
      const serverLog = [];
      const wss = await h.listen(lib, { perMessageDeflate: pmd });
      let serverClosed;
      const serverDone = new Promise((r) => (serverClosed = r));
      wss.on('connection', (sock) => {
        sock.on('close', serverClosed);
        sock.on('message', (d, b) => sock.send(d, { binary: b }));
        sock.on('close', (code, reason) => serverLog.push(['server close', code, reason.toString()]));
      });
      const c = new lib(h.url(wss), { perMessageDeflate: pmd });
      c.on('open', () => {
        c.send('hello');
        c.send(Buffer.alloc(5000, 1));
        c.ping('p');
      });
      c.on('message', (d, b) => {
        log.push(['message', b, d.length, c.readyState]);
        if (!b) c.close(1000, 'bye');
      });
      c.on('pong', () => log.push(['pong', c.readyState]));
      const [code, reason] = await h.once(c, 'close');
      log.push(['close', code, reason.toString()]);
      await serverDone;
      await h.closeServer(wss);
      return [log, serverLog];
    });
  });
}

test('Blob and typed-array payloads, bufferedAmount while CLOSING', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    wss.on('connection', (sock) => sock.on('message', (d, b) => sock.send(d, { binary: b })));
    const c = new lib(h.url(wss));
    await h.once(c, 'open');
    const got = new Promise((resolve) => {
      const msgs = [];
      c.on('message', (d, b) => {
        msgs.push([b, d.toString('hex')]);
        if (msgs.length === 4) resolve(msgs);
      });
    });
    c.send(new Blob([Buffer.from('blob!')]));
    c.send(new Uint16Array([1, 2]));
    c.send(new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 2));
    c.send('after blob');
    log.push(['messages', await got]);
    c.close();
    c.send('late', (err) => log.push(['late cb', err.message]));
    log.push(['bufferedAmount grows', c.bufferedAmount >= 4]);
    await h.once(c, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('permessage-deflate negotiation answers like ws', async () => {
  const offers = [
    'permessage-deflate',
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; client_max_window_bits=10; server_no_context_takeover',
    'permessage-deflate; server_max_window_bits=9, permessage-deflate',
    'x-webkit-deflate-frame',
    'permessage-deflate; client_max_window_bits; server_max_window_bits=12',
    // Unacceptable offers: ws fails the handshake with 400, and so do we.
    'permessage-deflate; foo=1',
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; client_max_window_bits=16',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
    'permessage-deflate;;'
  ];
  const configs = [
    true,
    { serverNoContextTakeover: true },
    { level: 1, threshold: 10 },
    { clientMaxWindowBits: 10 }
  ];
  const net = require('net');
  const ask = (port, ext) =>
    new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      let data = '';
      s.on('data', (c) => {
        data += c;
        if (data.includes('\r\n\r\n')) s.destroy();
      });
      s.on('close', () => {
        const lines = data.split('\r\n');
        const ext = lines.find((l) => /^sec-websocket-extensions/i.test(l));
        // Parameter order carries no meaning (RFC 7692 §5): compare them sorted.
        resolve([lines[0], ext ? ext.split(/;\s*/).sort().join('; ') : null]);
      });
      s.on('error', () => {});
      s.write(
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
          `Sec-WebSocket-Extensions: ${ext}\r\n\r\n`
      );
    });
  await same(async (lib) => {
    const log = [];
    for (const cfg of configs) {
      const wss = await h.listen(lib, { perMessageDeflate: cfg });
      wss.on('connection', (s) => s.on('error', () => {}));
      for (const offer of offers) log.push([offer, await ask(wss.address().port, offer)]);
      await h.closeServer(wss);
    }
    return log;
  });
});

for (const allowSynchronousEvents of [true, false]) {
  test(`allowSynchronousEvents=${allowSynchronousEvents}: events per tick as in ws`, async () => {
    const frames = Buffer.concat([
      h.frame({ opcode: 1, payload: 'a', mask: false }),
      h.frame({ opcode: 9, payload: 'p', mask: false }),
      h.frame({ opcode: 2, payload: 'b', mask: false }),
      h.frame({ opcode: 1, payload: 'c', mask: false })
    ]);
    await same(async (lib) => {
      const log = [];
      const srv = await h.rawServer(frames);
      const c = new lib(`ws://127.0.0.1:${srv.port}`, { allowSynchronousEvents });
      await new Promise((resolve) => {
        c.on('ping', (d) => {
          log.push(['ping', d.toString()]);
          process.nextTick(() => log.push('tick'));
        });
        c.on('message', (d) => {
          log.push(['message', d.toString()]);
          process.nextTick(() => log.push('tick'));
          if (d.toString() === 'c') setImmediate(resolve);
        });
      });
      c.terminate();
      await h.once(c, 'close');
      await srv.close();
      return log;
    });
  });
}

test('bufferedAmount after send, after the callback, for a large message', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await h.listen(lib);
    wss.on('connection', (sock) => sock.on('error', () => {}));
    const c = new lib(h.url(wss), { perMessageDeflate: false });
    await h.once(c, 'open');
    log.push(['initial', c.bufferedAmount]);
    await new Promise((resolve) => {
      c.send('small', () => {
        log.push(['small, in callback', c.bufferedAmount]);
        resolve();
      });
      log.push(['small, after send', c.bufferedAmount]);
    });
    const big = Buffer.alloc(32 * 1024 * 1024);
    await new Promise((resolve) => {
      c.send(big, () => {
        log.push(['big, in callback', c.bufferedAmount]);
        resolve();
      });
      const b = c.bufferedAmount;
      log.push(['big, after send: buffered and bounded', b > 0 && b <= big.length + 14]);
    });
    c.terminate();
    await h.once(c, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('options: autoPong false, skipUTF8Validation, client maxPayload, WebSocket subclass', async () => {
  await same(async (lib) => {
    const log = [];
    class Sub extends lib {
      hello() {
        return 'sub';
      }
    }
    const wss = await h.listen(lib, { WebSocket: Sub, autoPong: false, skipUTF8Validation: true });
    const serverSide = new Promise((resolve) =>
      wss.on('connection', (sock) => {
        log.push(['subclass', sock instanceof Sub, sock.hello()]);
        sock.on('ping', () => log.push(['server ping']));
        sock.on('message', (d, b) => {
          log.push(['server message', d.toString('hex'), b]);
          sock.send(Buffer.alloc(200));
          resolve();
        });
      })
    );
    const c = new lib(h.url(wss), { maxPayload: 100 });
    c.on('pong', () => log.push(['unexpected pong']));
    c.on('error', (err) => log.push(['client error', h.errorInfo(err)]));
    await h.once(c, 'open');
    c.ping('x');
    // Invalid UTF-8 sent as text: accepted by a server with skipUTF8Validation.
    c.send(Buffer.from([0xff, 0xfe]), { binary: false });
    await serverSide;
    const [code] = await h.once(c, 'close');
    log.push(['client close', code]);
    await h.closeServer(wss);
    return log;
  });
});
