'use strict';

// The native transport (`transport: 'native'`: Rust owns the sockets on Node's loop)
// against real ws clients, and against ws's own server running the same scenario.

const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const net = require('net');
const { spawn } = require('child_process');
const path = require('path');

const h = require('./helpers');

const NATIVE = { transport: 'native' };

/** A server of `lib` on 127.0.0.1:0: ferrosocket's on the native transport. */
function listen(lib, options = {}) {
  return h.listen(lib, lib === h.ferrosocket ? { ...NATIVE, ...options } : options);
}

/** Runs `scenario(lib)` on ws and on the native transport; the logs must match. */
async function same(scenario, ms = 15000) {
  const [a, b] = await h.within(h.both(scenario), ms, 'scenario');
  assert.deepStrictEqual(b, a);
  return a;
}

function client(wss, p = '', protocols, options) {
  const c = new h.ws.WebSocket(h.url(wss, p), protocols, options);
  c.on('error', () => {});
  return c;
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

const { waitFor } = h;

test('echo: text, binary, empty and large messages, events in order', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    wss.on('connection', (ws, req) => {
      log.push(['connection', req.url, req.headers.upgrade, typeof req.socket.remoteAddress]);
      ws.on('message', (d, isBinary) => {
        log.push(['server message', d.length, isBinary, Buffer.isBuffer(d)]);
        ws.send(d, { binary: isBinary });
      });
      ws.on('close', (code, reason) => log.push(['server close', code, String(reason)]));
    });
    const c = client(wss, '/echo?x=1');
    await h.once(c, 'open');
    const sizes = [0, 1, 125, 126, 65535, 65536, 1 << 20];
    const got = [];
    c.on('message', (d, isBinary) => got.push([d.length, isBinary, d[d.length - 1]]));
    for (const n of sizes) {
      c.send(Buffer.alloc(n, n & 0xff));
      c.send('é'.repeat(n >> 1));
    }
    await waitFor(() => got.length === sizes.length * 2, 10000, 'echoes');
    log.push(['client got', got]);
    c.close(4000, 'bye');
    await h.once(c, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('messages stay valid after the callback, and binaryType applies to binary only', async () => {
  const wss = await listen(h.ferrosocket);
  const kept = [];
  wss.on('connection', (ws) => {
    ws.binaryType = 'arraybuffer';
    ws.on('message', (d, isBinary) => kept.length < 50 && kept.push([d, isBinary]));
  });
  const c = client(wss);
  await h.once(c, 'open');
  for (let i = 0; i < 50; i++) c.send(i % 2 ? `text ${i}` : Buffer.from(`bin ${i}`));
  await waitFor(() => kept.length === 50, 5000, 'messages');
  // Later reads overwrite the shared read buffer: the kept payloads must not change.
  for (let i = 0; i < 50; i++) c.send(Buffer.alloc(64, 0xee));
  await new Promise((r) => setTimeout(r, 100));
  kept.forEach(([d, isBinary], i) => {
    assert.strictEqual(isBinary, i % 2 === 0);
    if (isBinary) assert.ok(d instanceof ArrayBuffer);
    else assert.ok(Buffer.isBuffer(d));
    assert.strictEqual(Buffer.from(d).toString(), i % 2 ? `text ${i}` : `bin ${i}`);
  });
  c.terminate();
  await h.closeServer(wss);
});

test('close codes and reasons both ways, 1005 without a code, 1006 on a reset', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    wss.on('connection', (ws, req) => {
      ws.on('close', (code, reason) => log.push([req.url, 'server close', code, String(reason)]));
      ws.on('message', (d) => {
        const m = String(d);
        if (m === 'close 1001') ws.close(1001, 'going away');
        if (m === 'close none') ws.close();
        if (m === 'bad code') {
          try {
            ws.close(1005);
          } catch (err) {
            log.push(['throws', err.constructor.name, err.message]);
          }
          log.push(['readyState', ws.readyState]);
        }
      });
    });
    const run = async (p, act) => {
      const c = client(wss, p);
      await h.once(c, 'open');
      const closed = h.once(c, 'close');
      act(c);
      const [code, reason] = await closed;
      log.push([p, 'client close', code, String(reason)]);
    };
    await run('/a', (c) => c.close(4000, 'bye'));
    await run('/b', (c) => c.send('close 1001'));
    await run('/c', (c) => c.send('close none'));
    await run('/d', (c) => c.terminate());
    await run('/e', (c) => {
      c.send('bad code');
      setTimeout(() => c.close(), 50);
    });
    await waitFor(() => log.filter((e) => e[1] === 'server close').length === 5, 5000, 'closes');
    await h.closeServer(wss);
    return log.sort((x, y) => String(x).localeCompare(String(y)));
  });
});

test('ping and pong both ways, with and without autoPong', async () => {
  await same(async (lib) => {
    const log = [];
    for (const autoPong of [true, false]) {
      const wss = await listen(lib, { autoPong });
      wss.on('connection', (ws) => {
        ws.on('ping', (d) => log.push([autoPong, 'server ping', String(d)]));
        ws.on('pong', (d) => log.push([autoPong, 'server pong', String(d)]));
        ws.ping('from server', undefined, (err) => log.push([autoPong, 'ping cb', err]));
      });
      const c = client(wss);
      c.on('ping', (d) => log.push([autoPong, 'client ping', String(d)]));
      c.on('pong', (d) => log.push([autoPong, 'client pong', String(d)]));
      await h.once(c, 'open');
      c.ping('from client');
      await new Promise((r) => setTimeout(r, 100));
      c.close();
      await h.once(c, 'close');
      await h.closeServer(wss);
    }
    return log;
  });
});

test('send callbacks, bufferedAmount and sends after close', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    const done = new Promise((resolve) => {
      wss.on('connection', (ws) => {
        ws.send('a', (err) => log.push(['cb a', err]));
        ws.send(Buffer.from('b'), { binary: true }, (err) => log.push(['cb b', err]));
        ws.on('message', () => {
          ws.close(1000);
          log.push(['readyState after close()', ws.readyState]);
          ws.send('late', (err) => log.push(['late cb', err && err.message]));
          log.push(['bufferedAmount counts late data', ws.bufferedAmount >= 4]);
          ws.on('close', resolve);
        });
      });
    });
    const c = client(wss);
    const got = [];
    c.on('message', (d) => {
      got.push(String(d));
      if (got.length === 2) c.send('ok');
    });
    await done;
    log.push(['client got', got]);
    await h.closeServer(wss);
    return log;
  });
});

test('protocol violations: the same error and close code as ws', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib, { maxPayload: 100 });
    wss.on('connection', (ws, req) => {
      ws.on('error', (err) => log.push([req.url, err.constructor.name, err.code, err.message]));
      ws.on('close', (code) => log.push([req.url, 'close', code]));
    });
    const cases = {
      '/unmasked': h.frame({ opcode: 1, payload: 'x', mask: false }),
      '/rsv': h.frame({ opcode: 1, rsv: 4, payload: 'x' }),
      '/too-big': h.frame({ opcode: 2, payload: Buffer.alloc(200) }),
      '/utf8': h.frame({ opcode: 1, payload: Buffer.from([0xff]) })
    };
    for (const [p, bytes] of Object.entries(cases)) {
      const raw = await h.rawClient(wss.address().port, '', p);
      raw.socket.write(bytes);
      await new Promise((r) => raw.socket.on('close', r));
      log.push([p, 'client got', raw.received.map((f) => [f.opcode, f.payload.readUInt16BE(0)])]);
    }
    await waitFor(() => log.filter((e) => e[1] === 'close').length === 4, 5000, 'closes');
    await h.closeServer(wss);
    return log.sort((x, y) => String(x).localeCompare(String(y)));
  });
});

test("the opening handshake: ws's answers and decisions", async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib, {
      path: '/ok',
      verifyClient: (info, cb) => {
        log.push(['verify', info.origin, info.secure, info.req.url]);
        if (info.req.headers['x-deny']) cb(false, 403, 'Nope', { 'X-Why': 'denied' });
        else cb(true);
      },
      handleProtocols: (set, req) => {
        log.push(['protocols', [...set], req.url]);
        return set.has('b') ? 'b' : false;
      }
    });
    wss.on('headers', (lines, req) => {
      lines.push('X-Extra: 1');
      log.push(['headers', lines[0], req.url]);
    });
    wss.on('connection', (ws, req) => {
      log.push(['connection', ws.protocol, req.headers['sec-websocket-protocol'], req.headers.origin]);
      log.push(['addresses', req.socket.remoteAddress, ws._socket.remoteAddress, typeof ws._socket.remotePort]);
      ws.close();
    });
    const c = client(wss, '/ok?q', ['a', 'b'], { origin: 'http://o.example' });
    const [res] = await new Promise((resolve) => c.on('upgrade', (r) => resolve([r])));
    log.push(['101 extra header', res.headers['x-extra']]);
    await h.once(c, 'close');
    for (const [p, headers] of [
      ['/ok', { 'x-deny': '1' }],
      ['/other', {}]
    ]) {
      const d = client(wss, p, undefined, { headers });
      const [, r] = await h.once(d, 'unexpected-response');
      log.push(['refused', p, r.statusCode, r.headers['x-why']]);
      r.resume();
    }
    await h.closeServer(wss);
    return log;
  });
});

test('req.socket is ws._socket whenever either is first read, and keeps its counts after close', async () => {
  await same(async (lib) => {
    const log = [];
    let early = null;
    const wss = await listen(lib, {
      verifyClient: (info) => {
        // Read before the WebSocket exists (the first connection only).
        if (info.req.url === '/early') early = info.req.socket;
        return true;
      }
    });
    const closed = [];
    wss.on('connection', (ws, req) => {
      if (req.url === '/early') log.push(['early is ws._socket', early === ws._socket, req.socket === ws._socket]);
      if (req.url === '/late') {
        // Nothing read until the connection closed.
        ws.on('close', () => {
          const s = ws._socket;
          log.push(['late', req.socket === s, s.bytesRead > 0, s.bytesWritten > 0]);
        });
      }
      ws.on('message', (d) => ws.send(d));
      closed.push(h.once(ws, 'close'));
    });
    for (const p of ['/early', '/late']) {
      const c = client(wss, p);
      await h.once(c, 'open');
      c.send('x');
      await h.once(c, 'message');
      c.close();
      await h.once(c, 'close');
    }
    await Promise.all(closed);
    await h.closeServer(wss);
    return log;
  });
});

test('HTTP answers before any JS: 426 for a plain request, 400 for a bad version', async () => {
  await same(async (lib) => {
    const wss = await listen(lib);
    const ask = (req) =>
      new Promise((resolve) => {
        const s = net.connect(wss.address().port, '127.0.0.1');
        let out = '';
        s.on('data', (d) => {
          out += d;
          // ws's HTTP server keeps a plain request's connection alive.
          if (out.endsWith('Upgrade Required')) s.end();
        });
        s.on('close', () => resolve(out.split('\r\n')[0] + ' / ' + out.slice(out.indexOf('\r\n\r\n') + 4)));
        s.write(req);
      });
    const log = [
      await ask('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      await ask(
        'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n'
      )
    ];
    await h.closeServer(wss);
    return log;
  });
});

test('pause() stops reading until resume()', async () => {
  const wss = await listen(h.ferrosocket);
  const got = [];
  let server;
  wss.on('connection', (ws) => {
    server = ws;
    ws.pause();
    ws.on('message', (d) => got.push(String(d)));
  });
  const c = client(wss);
  await h.once(c, 'open');
  await waitFor(() => server, 2000, 'connection');
  c.send('one');
  c.send('two');
  await new Promise((r) => setTimeout(r, 150));
  assert.deepStrictEqual(got, []);
  assert.strictEqual(server.isPaused, true);
  server.resume();
  await waitFor(() => got.length === 2, 2000, 'messages after resume');
  assert.deepStrictEqual(got, ['one', 'two']);
  c.terminate();
  await h.closeServer(wss);
});

test('terminate() during large writes closes at once with 1006 on both sides', async () => {
  const wss = await listen(h.ferrosocket);
  let serverClose;
  wss.on('connection', (ws) => {
    serverClose = h.once(ws, 'close');
    const chunk = Buffer.alloc(1 << 20, 1);
    for (let i = 0; i < 32; i++) ws.send(chunk);
    // Asked, the socket takes what the kernel accepts (as ws's): most stays queued.
    assert.ok(ws.bufferedAmount >= 16 << 20);
    setImmediate(() => ws.terminate());
  });
  const c = client(wss);
  const [code] = await h.within(h.once(c, 'close'), 5000, 'client close');
  assert.strictEqual(code, 1006);
  assert.strictEqual((await serverClose)[0], 1006);
  await h.closeServer(wss);
});

test('many connections echo at once', async () => {
  const wss = await listen(h.ferrosocket);
  wss.on('connection', (ws) => ws.on('message', (d, b) => ws.send(d, { binary: b })));
  const N = 200;
  let echoed = 0;
  const clients = [];
  for (let i = 0; i < N; i++) {
    const c = client(wss);
    c.on('open', () => {
      for (let k = 0; k < 10; k++) c.send(`${i}:${k}`);
    });
    c.on('message', () => echoed++);
    clients.push(c);
  }
  await waitFor(() => echoed === N * 10, 15000, 'echoes');
  assert.strictEqual(wss.clients.size, N);
  for (const c of clients) c.close();
  await waitFor(() => wss.clients.size === 0, 5000, 'closes');
  await h.closeServer(wss);
});

test('rounds of abrupt resets leave no connection and no descriptor behind', async () => {
  const wss = await listen(h.ferrosocket);
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  const before = openFds();
  for (let round = 0; round < 3; round++) {
    const clients = await Promise.all(
      Array.from({ length: 200 }, () => {
        const c = client(wss);
        return h.once(c, 'open').then(() => c);
      })
    );
    await waitFor(() => wss.clients.size === 200, 5000, 'server side open');
    for (const c of clients) {
      c.send('x');
      c._socket.resetAndDestroy();
    }
    await waitFor(() => wss.clients.size === 0, 5000, `round ${round} closes`);
  }
  await waitFor(() => openFds() <= before, 5000, 'descriptors released');
  await h.closeServer(wss);
});

/** Sends `request` on a raw TCP socket; resolves with everything answered until close. */
function rawAnswer(port, request) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (c) => (data += c));
    s.on('close', () => resolve(data));
    s.on('error', () => {});
    s.end(request);
  });
}

test("'wsClientError' gets the error, a socket whose writes are the answer, and the request, as with ws", async () => {
  const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
  const up = 'Host: x\r\nX-Id: 7\r\nConnection: Upgrade\r\n';
  const requests = [
    `POST /end?a=1 HTTP/1.1\r\n${up}Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 13\r\n\r\n`,
    `GET /destroy HTTP/1.1\r\n${up}Upgrade: h2c\r\n${key}Sec-WebSocket-Version: 13\r\n\r\n`,
    `GET /end HTTP/1.1\r\n${up}Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 99\r\n\r\n`,
    `GET /end HTTP/1.1\r\n${up}Upgrade: websocket\r\nSec-WebSocket-Key: bad\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    // Checked in JS on the native transport (after the path): the same event.
    `GET /end HTTP/1.1\r\n${up}Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b\r\n\r\n`,
    `GET /destroy HTTP/1.1\r\n${up}Upgrade: websocket\r\n${key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; foo\r\n\r\n`
  ];
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib, { perMessageDeflate: true });
    const port = wss.address().port;
    // No listener: ws's own answers.
    log.push((await rawAnswer(port, requests[1])).split('\r\n')[0]);
    wss.on('wsClientError', (err, socket, req) => {
      log.push([err.message, req.method, req.url, req.headers['x-id'], req.headers.upgrade, socket.remoteAddress]);
      if (req.url === '/destroy') {
        socket.write('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
        socket.destroy();
      } else {
        socket.end(`HTTP/1.1 418 Teapot\r\nContent-Length: ${err.message.length}\r\n\r\n${err.message}`);
      }
    });
    for (const r of requests) log.push(await rawAnswer(port, r));
    // A listener that answers nothing: the socket stays open (ws), a normal client
    // still connects meanwhile.
    wss.removeAllListeners('wsClientError');
    let held;
    wss.on('wsClientError', (err, socket) => (held = socket));
    const quiet = net.connect(port, '127.0.0.1');
    quiet.on('error', () => {});
    quiet.write(requests[1]);
    await waitFor(() => held !== undefined, 5000, 'wsClientError');
    const c = client(wss);
    await h.once(c, 'open');
    c.close();
    held.destroy();
    await h.once(quiet, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test("terminate() inside 'connection': the 101 was written, the client opens then sees 1006, as with ws", async () => {
  await same(async (lib) => {
    const log = [];
    for (const perMessageDeflate of [false, true]) {
      const wss = await listen(lib, { perMessageDeflate });
      wss.on('connection', (ws) => ws.terminate());
      const c = client(wss);
      c.on('open', () => log.push('open'));
      c.on('unexpected-response', () => log.push('unexpected-response'));
      const [code] = await h.within(h.once(c, 'close'), 5000, 'close');
      log.push(['close', code]);
      await h.closeServer(wss);
    }
    return log;
  });
});

// crates/node/src/native/epoll.rs: a server's sockets sit in one epoll set of its
// own (one descriptor, one libuv handle); FERROSOCKET_UV_POLL=1 gives each socket a
// libuv poll handle instead (scripts/test.sh runs this file both ways).
const epollSets = () =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[eventpoll]';
    } catch {
      return false;
    }
  }).length;

test('a native server watches its sockets through one epoll set of its own (Linux), or a libuv handle each', async () => {
  const perServer = process.env.FERROSOCKET_UV_POLL === '1' ? 0 : 1;
  const before = epollSets();
  const wss = await listen(h.ferrosocket);
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  assert.strictEqual(epollSets(), before + perServer);
  const clients = await Promise.all(
    Array.from({ length: 50 }, () => {
      const c = client(wss);
      return h.once(c, 'open').then(() => c);
    })
  );
  // Every socket of the set answers, paused ones too once resumed.
  await waitFor(() => wss.clients.size === 50, 5000, 'server side open');
  const [first] = wss.clients;
  first.pause();
  const echoes = clients.map((c) => h.once(c, 'message'));
  for (const c of clients) c.send('x');
  await new Promise((r) => setTimeout(r, 50));
  first.resume();
  await h.within(Promise.all(echoes), 5000, 'echoes');
  assert.strictEqual(epollSets(), before + perServer);
  await h.closeServer(wss);
  await waitFor(() => epollSets() === before, 5000, 'the set closed with the server');
});

test('slowloris: half-sent requests time out, a normal client still gets through', async () => {
  const wss = await listen(h.ferrosocket, { handshakeTimeout: 300 });
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  const slow = [];
  for (let i = 0; i < 200; i++) {
    const s = net.connect(wss.address().port, '127.0.0.1');
    s.on('error', () => {});
    s.write('GET / HTTP/1.1\r\nUpgrade: websocket\r\n');
    // Read the 408, so that the end of the stream is seen.
    s.resume();
    slow.push(new Promise((r) => s.on('close', r)));
  }
  const c = client(wss);
  await h.once(c, 'open');
  c.send('hello');
  assert.strictEqual(String((await h.once(c, 'message'))[0]), 'hello');
  const started = Date.now();
  await h.within(Promise.all(slow), 5000, 'slow requests closed');
  assert.ok(Date.now() - started < 5000);
  assert.strictEqual(c.readyState, 1);
  c.close();
  await h.closeServer(wss);
});

test('what native does not do yet throws a clear error', () => {
  const make = (o) => () => new h.ferrosocket.WebSocketServer({ port: 0, transport: 'native', ...o });
  class Mine extends h.ferrosocket.WebSocket {}
  assert.throws(make({ WebSocket: Mine }), /"WebSocket" option is not supported with transport: 'native'/);
  assert.throws(() => new h.ferrosocket.WebSocketServer({ port: 0, transport: 'tcp' }), TypeError);
});

test('a port in use is an error event, as with ws', async () => {
  const first = await listen(h.ferrosocket);
  const err = await new Promise((resolve) => {
    const second = new h.ferrosocket.WebSocketServer({ host: '127.0.0.1', port: first.address().port, ...NATIVE });
    second.on('error', resolve);
  });
  assert.strictEqual(err.code, 'EADDRINUSE');
  await h.closeServer(first);
});

test('open native sockets keep the process alive; a closed server lets it exit', async () => {
  const entry = path.join(__dirname, '../../npm');
  const script = `
    const { WebSocketServer } = require(${JSON.stringify(entry)});
    const WS = require(${JSON.stringify(require.resolve('ws', { paths: [path.join(__dirname, '../../npm')] }))});
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, transport: 'native' }, () => {
      const c = new WS('ws://127.0.0.1:' + wss.address().port);
      c.on('open', () => setTimeout(() => { console.log('alive'); c.close(); wss.close(); }, 300));
    });
    wss.on('close', () => console.log('closed'));
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const [code] = await h.within(h.once(child, 'exit'), 10000, 'child exit').catch((e) => {
    child.kill();
    throw e;
  });
  assert.strictEqual(code, 0);
  assert.deepStrictEqual(out.trim().split('\n'), ['alive', 'closed']);
});

test('the automatic pong follows the replies to messages of the same read; an overridden pong() gets it', async () => {
  await same(async (lib) => {
    const log = [];
    for (const override of [false, true]) {
      const wss = await listen(lib, { maxPendingAutoPongs: 3 });
      wss.on('connection', (ws) => {
        ws.on('message', (d) => ws.send(`re ${d}`));
        if (override) {
          ws.pong = (data, mask, cb) => {
            log.push(['pong()', String(data), mask, typeof cb]);
            // Written as ws's own would be, then reported: the bound is not reached.
            ws.send(`pong ${data}`, cb);
          };
        }
      });
      const raw = await h.rawClient(wss.address().port);
      raw.socket.write(
        Buffer.concat([
          h.frame({ opcode: 1, payload: 'a' }),
          h.frame({ opcode: 9, payload: 'p1' }),
          h.frame({ opcode: 1, payload: 'b' }),
          h.frame({ opcode: 9, payload: 'p2' })
        ])
      );
      await waitFor(() => raw.received.length === 4, 3000, 'replies');
      log.push([override, raw.received.map((f) => [f.opcode, String(f.payload)])]);
      raw.socket.destroy();
      await h.closeServer(wss);
    }
    return log;
  });
});

test('pings past maxPendingAutoPongs terminate, as ws', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib, { maxPendingAutoPongs: 2 });
    wss.on('connection', (ws) => {
      ws.pong = (data) => log.push(['pong()', String(data)]); // never written
      ws.on('close', (code) => log.push(['server close', code]));
    });
    const raw = await h.rawClient(wss.address().port);
    for (let i = 0; i < 4; i++) raw.socket.write(h.frame({ opcode: 9, payload: `p${i}` }));
    await h.within(new Promise((r) => (raw.isClosed() ? r() : raw.socket.on('close', r))), 4000, 'cut');
    await h.closeServer(wss);
    log.push(['frames', raw.received.length]);
    return log;
  });
});

test('_sender.sendFrame and ws._socket.write queue whole frames in order with send()', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    wss.on('connection', (ws) => {
      const frame = lib.Sender.frame(Buffer.from('made once'), {
        readOnly: false,
        mask: false,
        rsv1: false,
        opcode: 1,
        fin: true
      });
      ws.send('first');
      ws._sender.sendFrame(frame, (err) => log.push(['sendFrame cb', err == null]));
      ws._socket.write(h.frame({ opcode: 2, payload: 'raw', mask: false }), (err) =>
        log.push(['write cb', err == null])
      );
      ws.send('last', () => log.push(['send cb']));
      log.push(['same _sender', ws._sender === ws._sender]);
    });
    const c = client(wss);
    const got = [];
    c.on('message', (d, isBinary) => got.push([String(d), isBinary]));
    await waitFor(() => got.length === 4, 3000, 'messages');
    log.push(['client got', got]);
    c.close();
    await h.once(c, 'close');
    await h.closeServer(wss);
    return log;
  });
});

test('Blob sends: order with other sends and close(), callbacks, bufferedAmount', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    let serverClosed;
    const serverClose = new Promise((r) => (serverClosed = r));
    wss.on('connection', (ws) => {
      ws.send('before');
      ws.send(new Blob(['blob ', 'one']), (err) => log.push(['blob cb', err]));
      ws.send('after', (err) => log.push(['after cb', err]));
      log.push(['bufferedAmount counts the Blob', ws.bufferedAmount >= 8]);
      ws.send(new Blob([new Uint8Array([1, 2, 3])]), { binary: true });
      ws.close(4001, 'behind the blobs');
      log.push(['readyState', ws.readyState]);
      ws.send('too late', (err) => log.push(['late cb', err && err.message]));
      ws.on('close', (code, reason) => serverClosed(['server close', code, String(reason)]));
    });
    const c = client(wss);
    const got = [];
    c.on('message', (d, isBinary) => got.push([isBinary ? [...d] : String(d), isBinary]));
    const [code, reason] = await h.once(c, 'close');
    log.push(['client got', got, code, String(reason)]);
    log.push(await serverClose);
    await h.closeServer(wss);
    return log;
  });
});

test('terminate() while a Blob is read: its callback gets ws\'s error', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    wss.on('connection', (ws) => {
      ws.send(new Blob(['x'.repeat(1000)]), (err) => log.push(['blob cb', err && err.message]));
      ws.send('queued', (err) => log.push(['queued cb', err && err.message]));
      ws.terminate();
      ws.on('close', (code) => log.push(['server close', code]));
    });
    const c = client(wss);
    const [code] = await h.once(c, 'close');
    log.push(['client close', code]);
    await new Promise((r) => setTimeout(r, 50));
    await h.closeServer(wss);
    return log;
  });
});

test("a closing server's 'close' comes before its last connection's, as ws", async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    wss.on('connection', (ws) => {
      ws.on('close', (code) => log.push(['ws close', code, wss.clients.size]));
    });
    const c = client(wss);
    await h.once(c, 'open');
    wss.close(() => log.push(['wss close', wss.clients.size]));
    log.push(['clients while closing', wss.clients.size]);
    c.close(1000);
    await h.once(wss, 'close');
    log.push(['awaited wss close']);
    await new Promise((r) => setTimeout(r, 50));
    return log;
  });
});

test('allowSynchronousEvents: false: one message, ping or pong per macrotask; the close after the replies', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib, { allowSynchronousEvents: false });
    wss.on('connection', (ws) => {
      const note = (what) => {
        log.push(what);
        // Ticks and microtasks queued by a listener run before the next event.
        process.nextTick(() => log.push(`tick after ${what}`));
        Promise.resolve().then(() => log.push(`microtask after ${what}`));
      };
      ws.on('message', (d) => {
        note(`message ${d}`);
        ws.send(`re ${d}`);
      });
      ws.on('ping', (d) => note(`ping ${d}`));
      ws.on('pong', (d) => note(`pong ${d}`));
      ws.on('error', (err) => log.push(['error', err.code]));
      ws.on('close', (code) => log.push(['server close', code]));
    });
    const round = async (last) => {
      const raw = await h.rawClient(wss.address().port);
      raw.socket.write(
        Buffer.concat([
          h.frame({ opcode: 1, payload: 'a' }),
          h.frame({ opcode: 9, payload: 'b' }),
          h.frame({ opcode: 10, payload: 'c' }),
          h.frame({ opcode: 1, payload: 'd' }),
          last
        ])
      );
      await h.within(new Promise((r) => (raw.isClosed() ? r() : raw.socket.on('close', r))), 4000, 'close');
      log.push(['frames', raw.received.map((f) => [f.opcode, f.opcode === 8 ? f.payload.readUInt16BE(0) : String(f.payload)])]);
    };
    // The peer's close frame, then a violation, behind four events of the same read.
    await round(h.frame({ opcode: 8, payload: Buffer.from([0x0f, 0xa0]) }));
    await round(h.frame({ opcode: 1, payload: 'x', mask: false }));
    await new Promise((r) => setTimeout(r, 50));
    await h.closeServer(wss);
    return log;
  });
});

test('a host name is resolved as Node resolves it; an unknown one is an error event', async () => {
  await same(async (lib) => {
    const log = [];
    const opts = lib === h.ferrosocket ? NATIVE : {};
    const wss = await new Promise((resolve, reject) => {
      const s = new lib.WebSocketServer({ host: 'localhost', port: 0, ...opts }, () => resolve(s));
      s.on('error', reject);
    });
    const { address, family } = wss.address();
    log.push(['localhost', address, family]);
    const c = new h.ws.WebSocket(`ws://localhost:${wss.address().port}`);
    await h.once(c, 'open');
    c.close();
    await h.once(c, 'close');
    await h.closeServer(wss);
    const err = await new Promise((resolve) => {
      const s = new lib.WebSocketServer({ host: 'no-such-host.invalid', port: 0, ...opts });
      s.on('error', resolve);
      s.on('listening', () => resolve(new Error('listening')));
    });
    log.push(['unknown host', err.code, err.syscall, err.hostname]);
    return log;
  });
});

test('the transport option and FERROSOCKET_TRANSPORT: validated, auto falls back, native insists', async () => {
  const { WebSocketServer, WebSocket } = h.ferrosocket;
  const saved = process.env.FERROSOCKET_TRANSPORT;
  const chosen = async (options) => {
    const wss = new WebSocketServer(options);
    const transport = wss.options.transport;
    if (options.port !== undefined) await h.once(wss, 'listening');
    await new Promise((r) => wss.close(r));
    return transport;
  };
  try {
    delete process.env.FERROSOCKET_TRANSPORT;
    assert.throws(() => new WebSocketServer({ port: 0, transport: 'tcp' }), TypeError);
    assert.throws(() => new WebSocketServer({ noServer: true, transport: 1 }), TypeError);
    // The default without the variable: 'auto', the native transport in every mode
    // (in the server and noServer modes each plain TCP socket is taken over).
    assert.strictEqual(await chosen({ host: '127.0.0.1', port: 0 }), 'native');
    assert.strictEqual(await chosen({ noServer: true }), 'native');
    assert.strictEqual(await chosen({ server: require('http').createServer() }), 'native');
    // What the native transport cannot serve stays on the stream transport under 'auto'...
    class Custom extends WebSocket {}
    for (const o of [{ host: '127.0.0.1', port: 0, WebSocket: Custom }, { noServer: true, WebSocket: Custom }]) {
      assert.strictEqual(await chosen({ ...o, transport: 'auto' }), 'stream');
      // ... and 'native' says why, at construction.
      assert.throws(
        () => new WebSocketServer({ ...o, transport: 'native' }),
        (err) => err instanceof Error && / with transport: 'native' \(use transport: 'auto' or 'stream'\)$/.test(err.message)
      );
    }
    // The variable is the default; the option wins over it; a bad value throws.
    process.env.FERROSOCKET_TRANSPORT = 'stream';
    assert.strictEqual(await chosen({ host: '127.0.0.1', port: 0 }), 'stream');
    assert.strictEqual(await chosen({ noServer: true }), 'stream');
    assert.strictEqual(await chosen({ host: '127.0.0.1', port: 0, transport: 'auto' }), 'native');
    process.env.FERROSOCKET_TRANSPORT = 'native';
    assert.strictEqual(await chosen({ host: '127.0.0.1', port: 0 }), 'native');
    assert.throws(() => new WebSocketServer({ noServer: true, WebSocket: Custom }), /not supported with transport: 'native'/);
    process.env.FERROSOCKET_TRANSPORT = 'fast';
    assert.throws(() => new WebSocketServer({ host: '127.0.0.1', port: 0 }), (err) =>
      err instanceof TypeError && /FERROSOCKET_TRANSPORT must be 'auto', 'native' or 'stream' \(it is "fast"\)/.test(err.message)
    );
    // An empty variable counts as unset.
    process.env.FERROSOCKET_TRANSPORT = '';
    assert.strictEqual(await chosen({ host: '127.0.0.1', port: 0 }), 'native');
  } finally {
    if (saved === undefined) delete process.env.FERROSOCKET_TRANSPORT;
    else process.env.FERROSOCKET_TRANSPORT = saved;
  }
});

test('pause()/resume() and terminate() during writes: what ws users see', async () => {
  await same(async (lib) => {
    const log = [];
    const wss = await listen(lib);
    let server;
    wss.on('connection', (ws) => {
      server = ws;
      ws.pause();
      log.push(['paused', ws.isPaused]);
      ws.on('message', (d) => log.push(['message', String(d), ws.isPaused]));
      ws.on('close', (code) => log.push(['server close', code, ws.readyState]));
    });
    const c = client(wss);
    await h.once(c, 'open');
    await waitFor(() => server, 2000, 'connection');
    c.send('one');
    c.send('two');
    await new Promise((r) => setTimeout(r, 100));
    log.push(['while paused', log.length]);
    server.resume();
    log.push(['resumed', server.isPaused]);
    await waitFor(() => log.some((e) => e[1] === 'two'), 2000, 'messages after resume');
    const chunk = Buffer.alloc(1 << 20, 1);
    const cbs = [];
    for (let i = 0; i < 8; i++) server.send(chunk, (err) => cbs.push(err ? err.message : null));
    log.push(['buffered', server.bufferedAmount >= 1 << 20]);
    server.terminate();
    log.push(['after terminate', server.readyState]);
    server.send('late', (err) => log.push(['late cb', err && err.message]));
    server.pause();
    server.resume();
    const [code] = await h.within(h.once(c, 'close'), 5000, 'client close');
    await new Promise((r) => setTimeout(r, 50));
    log.push(['client close', code, 'callbacks', cbs.length, cbs.every((e) => e !== null)]);
    await h.closeServer(wss);
    return log;
  });
});

test('publish on the native transport: one shared copy per publish, every message intact', async () => {
  const wss = await listen(h.ferrosocket);
  const N = 5;
  wss.on('connection', (ws) => {
    ws.subscribe('t');
    ws.send('ready');
  });
  const got = Array.from({ length: N }, () => []);
  const clients = [];
  for (let i = 0; i < N; i++) {
    const c = client(wss);
    clients.push(c);
    await new Promise((r) => c.once('message', r));
    c.on('message', (d) => got[i].push(String(d)));
  }
  // Same length, different bytes, back to back (and a send in between): each publish
  // is its own frame even when the previous one's is still queued.
  const sent = [];
  for (let k = 0; k < 50; k++) {
    // Past the size from which subscribers share the frame.
    const m = `m${String(k).padStart(3, '0')}`.padEnd(2000, String.fromCharCode(97 + (k % 26)));
    sent.push(m);
    const r = wss.publish('t', m);
    assert.strictEqual(r.reached, N);
  }
  await waitFor(() => got.every((g) => g.length === sent.length), 5000, 'deliveries');
  for (const g of got) assert.deepStrictEqual(g, sent);
  for (const c of clients) c.close();
  await h.closeServer(wss);
});
