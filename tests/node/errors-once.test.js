'use strict';

// 'error' at most once and never after 'close', in every failure path (handshake,
// protocol error, socket error, Blob failure); send/ping callbacks when the socket is
// destroyed; send(Blob) completing in every path; the on<event> attributes. Each
// scenario runs against ws and ferrosocket and the logs must be equal.

const test = require('node:test');
const assert = require('node:assert');
const net = require('net');
const crypto = require('crypto');

const { ws, ferrosocket, frame, listen, url, once, closeServer } = require('./helpers');

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const accept = (key) => crypto.createHash('sha1').update(key + GUID).digest('base64');
const ok101 = (key, extra = '') =>
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  `Sec-WebSocket-Accept: ${accept(key)}\r\n${extra}\r\n`;
const serverFrame = (opcode, payload = Buffer.alloc(0)) => frame({ opcode, payload: Buffer.from(payload), mask: false });
const BAD = serverFrame(3);

/** A raw server that answers each upgrade with `respond(socket, key)`. */
function rawUpgradeServer(respond) {
  return new Promise((resolve) => {
    const sockets = new Set();
    const srv = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
      let head = '';
      s.on('data', (c) => {
        if (head === null) return;
        head += c.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(head)[1];
        head = null;
        respond(s, key);
      });
    });
    srv.listen(0, '127.0.0.1', () =>
      resolve({
        port: srv.address().port,
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((r) => srv.close(r));
        }
      })
    );
  });
}

const SERVERS = {
  status400: (s) => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'),
  badAccept: (s) => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: xx\r\n\r\n'),
  hangUp: (s) => s.destroy(),
  unexpectedExtension: (s, k) => s.write(ok101(k, 'Sec-WebSocket-Extensions: foo\r\n')),
  unexpectedProtocol: (s, k) => s.write(ok101(k, 'Sec-WebSocket-Protocol: x\r\n')),
  badFrameThenReset: (s, k) => {
    s.write(ok101(k));
    s.write(BAD);
    setTimeout(() => (s.resetAndDestroy ? s.resetAndDestroy() : s.destroy()), 5);
  },
  twoBadFramesOneChunk: (s, k) => s.write(Buffer.concat([Buffer.from(ok101(k)), BAD, BAD])),
  badFramesTwoChunks: (s, k) => {
    s.write(ok101(k));
    s.write(BAD);
    setTimeout(() => s.write(BAD), 5);
    setTimeout(() => s.end(), 10);
  },
  badFrameThenEnd: (s, k) => {
    s.write(ok101(k));
    s.end(BAD);
  },
  textThenInvalidUtf8: (s, k) => {
    s.write(ok101(k));
    s.end(Buffer.concat([serverFrame(1, 'hi'), serverFrame(1, [0xff])]));
  },
  closeThenBad: (s, k) => {
    s.write(ok101(k));
    s.write(Buffer.concat([serverFrame(8, [3, 232]), BAD]));
    setTimeout(() => s.end(), 5);
  },
  resetWhileOpen: (s, k) => {
    s.write(ok101(k));
    setTimeout(() => (s.resetAndDestroy ? s.resetAndDestroy() : s.destroy()), 5);
  },
  silent: () => {}
};

const ACTIONS = {
  none: () => {},
  closeInError: (c) => c.on('error', () => c.close()),
  terminateInError: (c) => c.on('error', () => c.terminate()),
  closeInOpen: (c) => c.on('open', () => c.close(1000))
};

async function clientLog(lib, server, action) {
  const srv = await rawUpgradeServer(SERVERS[server]);
  const log = [];
  const c = new lib.WebSocket(`ws://127.0.0.1:${srv.port}`, {
    handshakeTimeout: server === 'silent' ? 100 : undefined,
    closeTimeout: 100
  });
  let closed = false;
  c.on('open', () => log.push('open'));
  c.on('message', (d) => log.push(['message', d.toString()]));
  c.on('error', (e) => log.push([closed ? 'error AFTER close' : 'error', e.message, e.code]));
  c.on('close', (code) => {
    closed = true;
    log.push(['close', code]);
  });
  ACTIONS[action](c);
  await new Promise((r) => setTimeout(r, 250));
  c.terminate();
  await srv.close();
  return log;
}

test("client: 'error' at most once and never after 'close', in every failure path, as ws", async () => {
  for (const action of Object.keys(ACTIONS)) {
    for (const server of Object.keys(SERVERS)) {
      const a = await clientLog(ws, server, action);
      const b = await clientLog(ferrosocket, server, action);
      assert.deepStrictEqual(b, a, `${action} / ${server}`);
      assert.ok(b.filter((e) => e[0] === 'error').length <= 1, `${action} / ${server}: one error`);
      assert.ok(!b.some((e) => e[0] === 'error AFTER close'), `${action} / ${server}`);
    }
  }
});

test("client: connection refused gives one 'error' then 'close', as ws", async () => {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const port = srv.address().port;
  await new Promise((r) => srv.close(r));
  const observe = async (lib) => {
    const log = [];
    const c = new lib.WebSocket(`ws://127.0.0.1:${port}`);
    c.on('error', (e) => log.push(['error', e.code]));
    await new Promise((r) => c.on('close', (code) => r(log.push(['close', code]))));
    return log;
  };
  assert.deepStrictEqual(await observe(ferrosocket), await observe(ws));
});

const RAW_BAD = {
  invalidOpcode: () => frame({ opcode: 3 }),
  unmasked: () => frame({ opcode: 1, payload: Buffer.from('x'), mask: false }),
  twoViolations: () => Buffer.concat([frame({ opcode: 3 }), frame({ opcode: 4 })]),
  tooBig: () => frame({ opcode: 2, payload: Buffer.alloc(2000) })
};

async function serverLog(lib, input, reset) {
  const wss = await listen(lib, { maxPayload: 1000, closeTimeout: 100 });
  const log = [];
  const done = new Promise((resolve) => {
    wss.on('connection', (sock) => {
      let closed = false;
      sock.on('error', (e) => log.push([closed ? 'error AFTER close' : 'error', e.message, e.code]));
      sock.on('close', (code) => {
        closed = true;
        log.push(['close', code]);
        setTimeout(resolve, 30);
      });
    });
  });
  const s = net.connect(wss.address().port, '127.0.0.1');
  s.on('error', () => {});
  s.on('connect', () => {
    const key = crypto.randomBytes(16).toString('base64');
    s.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  });
  s.once('data', () => {
    s.write(RAW_BAD[input]());
    setTimeout(() => (reset && s.resetAndDestroy ? s.resetAndDestroy() : s.destroy()), 10);
  });
  await done;
  await closeServer(wss);
  return log;
}

test("server: 'error' at most once and never after 'close' on protocol and socket errors, as ws", async () => {
  for (const input of Object.keys(RAW_BAD)) {
    for (const reset of [false, true]) {
      const a = await serverLog(ws, input, reset);
      const b = await serverLog(ferrosocket, input, reset);
      assert.deepStrictEqual(b, a, `${input} reset=${reset}`);
    }
  }
});

/** A Blob whose read fails (ws recognises Blobs by shape). */
// A Blob whose read fails after 5 ms, or once `after` settles.
const failingBlob = (after) => ({
  [Symbol.toStringTag]: 'Blob',
  type: '',
  size: 3,
  stream() {},
  arrayBuffer: () =>
    (after || new Promise((r) => setTimeout(r, 5))).then(() => {
      throw new Error('read failed');
    })
});

const cb = (log, name) => (e) => log.push([name, e ? e.message : null]);

const SENDS = {
  blob: (c, log) => c.send(new Blob(['abc']), cb(log, 'cb')),
  blobThenTerminate: (c, log) => {
    c.send(new Blob(['abc']), cb(log, 'cb1'));
    c.send('x', cb(log, 'cb2'));
    c.terminate();
  },
  blobThenClose: (c, log) => {
    c.send(new Blob(['abc']), cb(log, 'cb1'));
    c.send('x', cb(log, 'cb2'));
    c.close();
    log.push(['readyState', c.readyState]);
    c.send('after', cb(log, 'cb3'));
  },
  blobThenInvalidClose: (c, log) => {
    c.send(new Blob(['abc']), cb(log, 'cb1'));
    try {
      c.close(1004);
    } catch (e) {
      log.push(['thrown', e.constructor.name, e.message]);
    }
  },
  failingBlob: (c, log) => {
    c.send(failingBlob(), cb(log, 'cb1'));
    c.send('x', cb(log, 'cb2'));
  },
  failingBlobThenClose: (c, log) => {
    c.send(failingBlob(), cb(log, 'cb1'));
    c.close(1000);
  },
  failingBlobAfterTerminate: (c, log) => {
    // The read fails once the terminated WebSocket has closed: a timer against the
    // close would race on a loaded machine (both ws's order and ours move with it).
    c.send(failingBlob(new Promise((r) => c.once('close', r))), cb(log, 'cb1'));
    setTimeout(() => c.terminate(), 1);
  },
  sendThenTerminate: (c, log) => {
    c.send('x', cb(log, 'cb'));
    c.terminate();
  },
  pingThenTerminate: (c, log) => {
    c.ping('x', undefined, cb(log, 'cb'));
    c.terminate();
  },
  sendAfterSocketDestroyed: (c, log) => {
    c._socket.destroy();
    c.send('x', cb(log, 'cb1'));
    setTimeout(() => c.send('y', cb(log, 'cb2')), 20);
  }
};

async function sendLog(lib, name) {
  const wss = await listen(lib);
  const peer = [];
  wss.on('connection', (s) => {
    s.on('message', (d) => peer.push(['peer', d.toString()]));
    s.on('error', () => {});
  });
  const c = new lib.WebSocket(url(wss));
  const log = [];
  let closed = false;
  c.on('error', (e) => log.push([closed ? 'error AFTER close' : 'error', e.message]));
  c.on('close', (code) => {
    closed = true;
    log.push(['close', code]);
  });
  await once(c, 'open');
  SENDS[name](c, log);
  await new Promise((r) => setTimeout(r, 150));
  c.terminate();
  await closeServer(wss);
  return log.concat(peer);
}

test('send/ping callbacks and send(Blob) complete in every path, as ws', async () => {
  for (const name of Object.keys(SENDS)) {
    const a = await sendLog(ws, name);
    const b = await sendLog(ferrosocket, name);
    assert.deepStrictEqual(b, a, name);
    const calls = b.filter((e) => /^cb/.test(e[0])).map((e) => e[0]);
    assert.strictEqual(new Set(calls).size, calls.length, `${name}: each callback once`);
  }
});

test('on<event> attributes: replace, clear with null or a non-function, getters, as ws', () => {
  const observe = (lib) => {
    const c = new lib.WebSocket(null, undefined, {});
    const log = [];
    const f1 = () => log.push('f1');
    const f2 = () => log.push('f2');
    const g = { handleEvent: () => log.push('g') };
    const state = () => [c.onmessage === null ? null : c.onmessage.name || 'anon', c.listenerCount('message')];
    c.onmessage = f1;
    log.push(state());
    c.emit('message', Buffer.from('a'), false);
    c.onmessage = f2;
    log.push(state());
    c.emit('message', Buffer.from('a'), false);
    c.addEventListener('message', f1);
    c.onmessage = f1;
    log.push(state());
    c.emit('message', Buffer.from('a'), false);
    c.onmessage = 'not a function';
    log.push(state());
    c.onmessage = g;
    log.push(state(), typeof c.onmessage);
    c.onmessage = null;
    log.push(state());
    c.removeEventListener('message', f1);
    log.push(state());
    for (const type of ['open', 'error', 'close']) {
      c[`on${type}`] = f1;
      log.push([type, c[`on${type}`] === f1, c.listenerCount(type)]);
      c[`on${type}`] = undefined;
      log.push([type, c[`on${type}`], c.listenerCount(type)]);
    }
    return log;
  };
  assert.deepStrictEqual(observe(ferrosocket), observe(ws));
});
