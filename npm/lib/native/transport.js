'use strict';

// The native transport of a `port`-mode WebSocketServer: Rust owns the sockets
// (crates/node/src/native) and calls `dispatch` once per socket readiness with all
// of its events. This file routes them to the WebSocket objects and answers
// requests with ws's decisions (path, verifyClient, handleProtocols, 'headers').
// The upgrade checks themselves (method, Upgrade, key, version, bounds, 426 for
// plain HTTP) are the core's, run in Rust before JS sees a request.

const dns = require('dns');
const http = require('http');
const net = require('net');

const { NativeServer } = require('../binding');
const NativeWebSocket = require('./websocket');
const NativeSocket = require('./socket');
const PublishBatch = require('./publish-batch');
const { kHub } = require('../constants');
const { emitHeaders, engineOptions, socketOptions } = require('../handshake');
const { deflateOptions } = require('../deflate-options');

// Event kinds of NativeServer's batches (crates/node/src/native/server.rs).
const EV_REQUEST = 1;
const EV_ABORTED = 2;
const EV_MESSAGE = 3;
const EV_MESSAGE_COPY = 4;
const EV_PING = 5;
const EV_PONG = 6;
const EV_CLOSE_FRAME = 7;
const EV_ERROR = 8;
const EV_DRAINED = 9;
const EV_CLOSED = 10;
const EV_FRAME_ENDS = 11;
const EV_REFUSED = 12;

const RUNNING = 0;
const CLOSED_STATE = 3;

/**
 * What the native transport cannot do for a server with these options, as the start
 * of a sentence ("... is not supported"), or null when it can serve them.
 *
 * @param {Object} options the server's options, defaulted
 * @param {Function} DefaultWebSocket the package's WebSocket class
 * @return {string|null}
 */
function unsupportedServerOptions(options, DefaultWebSocket) {
  if (options.WebSocket !== DefaultWebSocket) return 'The "WebSocket" option is not supported';
  return null;
}

class NativeTransport {
  /**
   * @param {import('../server')|null} wss the server whose connections these are
   *   (null: the clients' transport)
   * @param {Object} options the server's options (the clients': the defaults)
   * @param {Object} how
   * @param {boolean} how.listen listen on `options.port` (else connections come
   *   through `adopt`)
   * @param {Function} [how.onListening] listen()'s callback
   * @param {Function} [how.onEmpty] called once closing and the last connection is gone
   */
  constructor(wss, options, { listen, onListening, onEmpty }) {
    this.wss = wss;
    this.listens = listen;
    this.onEmpty = onEmpty;
    this.sockets = new SocketTable();
    this.pending = new Map();
    this.dispatching = false;
    this.batches = 0;
    this.flushScheduled = false;
    // In a flush JS asked for (flushTick), not in a delivery of socket readiness.
    this.flushing = false;
    this.closing = false;
    this.destroyed = false;
    // ws `autoPong`: the WebSockets answer pings as they emit them.
    this.autoPong = options.autoPong !== false;
    // ws `allowSynchronousEvents: false`: one message, ping or pong per macrotask.
    this.oneAtATime = options.allowSynchronousEvents === false;
    this.native = null;
    // The publish whose subscribers are being collected (publish-batch.js).
    this.publishing = null;
    const host = listen && options.host != null ? String(options.host) : undefined;
    if (host === undefined || net.isIP(host)) {
      this.listen(options, host, listen, onListening);
      return;
    }
    // A host name: resolved as Node's listen() resolves it (the first address of
    // dns.lookup), then that address is listened on.
    dns.lookup(host, (err, address) => {
      if (this.closing) {
        this.maybeClosed();
      } else if (err) {
        wss.emit('error', err);
      } else {
        this.listen(options, address, true, onListening);
      }
    });
  }

  /**
   * Makes the native server: listening on `host` (an IP address, or every address;
   * 'listening' or 'error' next) or, with `listen` false, for adopted connections.
   * @private
   */
  listen(options, host, listen, onListening) {
    const wss = this.wss;
    // ws's `perMessageDeflate`: `true` is `{}`; negotiated in Rust with the core's
    // rules (the stream transport's), once per request (`negotiate`).
    // Any truthy value turns it on, as in ws (an object also sets it up).
    const pmd = options.perMessageDeflate ? options.perMessageDeflate : null;
    this.deflate = pmd !== null;
    this.native = new NativeServer(
      {
        host,
        port: listen ? Number(options.port) >>> 0 : undefined,
        backlog: options.backlog == null ? undefined : Number(options.backlog) | 0,
        handshakeTimeout: options.handshakeTimeout,
        // The limits as the stream transport reads them (`+value`, as ws).
        connection: connectionOptions(options),
        perMessageDeflate: this.deflate ? deflateOptions(pmd) : undefined,
        deflateConcurrency: this.deflate ? concurrency(pmd.concurrencyLimit) : undefined
      },
      (nums, vals, batch) => this.dispatch(nums, vals, batch)
    );
    // The send path: plain functions bound to the server (the methods' plumbing
    // costs more than the send itself for small messages).
    [this.sendBytes, this.sendText] = this.native.sendFunctions();
    if (!listen) return;
    const failure = this.native.listenError;
    process.nextTick(() => {
      if (failure) {
        const err = new Error(failure.message);
        err.code = failure.code;
        err.syscall = failure.syscall;
        wss.emit('error', err);
        return;
      }
      if (onListening) onListening();
      wss.emit('listening');
    });
  }

  /**
   * Takes an upgraded TCP socket over from Node: Rust reads and writes it from now
   * on, and Node's socket is destroyed (its descriptor only: the connection lives on
   * in Rust's duplicate). `head` and whatever Node buffered after it are the
   * connection's first bytes; `preface` (a server's 101) is written before any frame.
   *
   * @param {import('net').Socket} socket a socket `adoptableFd` accepted
   * @param {Buffer} head
   * @param {Object} how
   * @param {string|null} how.preface
   * @param {boolean} how.client
   * @param {string} how.protocol
   * @param {Object} [how.connection] the connection's own limits (clients)
   * @param {Object} [how.deflate] the permessage-deflate agreed on (a DeflateHandle)
   * @return {number|null} the connection's id (null: the peer already left)
   */
  adopt(socket, head, { preface, client, connection, deflate }) {
    const fd = adoptableFd(socket);
    // Read what Node buffered past the head; then Node's handle goes.
    const chunks = head && head.length ? [head] : [];
    socket.pause();
    for (let chunk; (chunk = socket.read()) !== null; ) chunks.push(chunk);
    const id = this.native.adopt(
      fd,
      chunks.length ? Buffer.concat(chunks) : undefined,
      preface == null ? undefined : Buffer.from(preface),
      // Node's counts so far: ws._socket's count from the socket's start.
      { client, connection, bytesRead: socket.bytesRead, bytesWritten: socket.bytesWritten },
      deflate || undefined
    );
    socket.destroy();
    if (id !== null) this.scheduleFlush();
    return id;
  }

  /**
   * Takes over the socket of a client WebSocket whose upgrade just completed.
   *
   * @param {import('../websocket')} websocket
   * @param {Object} options the client's options
   * @return {boolean} false: the peer already left
   */
  adoptClientSocket(websocket, socket, head, protocol, deflate, options) {
    const id = this.adopt(socket, head, {
      preface: null,
      client: true,
      connection: connectionOptions(options),
      deflate
    });
    if (id === null) return false;
    NativeWebSocket.takeOver(websocket, this, id, protocol);
    if (deflate) websocket._extensions = 'permessage-deflate';
    this.sockets.set(id, websocket);
    return true;
  }

  /**
   * Takes over a socket a `server`/`noServer`-mode server upgraded.
   *
   * @return {NativeWebSocket|null} null: the peer already left
   */
  adoptServerSocket(socket, head, preface, protocol, deflate) {
    const id = this.adopt(socket, head, { preface, client: false, deflate });
    if (id === null) return null;
    const ws = new NativeWebSocket(this, id, protocol);
    if (deflate) ws._extensions = 'permessage-deflate';
    ws[kHub] = this.wss._hub;
    this.sockets.set(id, ws);
    return ws;
  }

  address() {
    return this.native === null ? null : this.native.address();
  }

  /**
   * A subscriber of publish `seq` (NativeWebSocket's kPublish): collected with the
   * others of that publish on this transport, queued when pubsub.js ends it. A
   * publish started meanwhile (from a listener) queues the one before first, so the
   * frames keep their order.
   *
   * @return {PublishBatch} what pubsub.js ends (`end(counts)`)
   */
  collectPublish(seq, frame, data, binary, ws) {
    let batch = this.publishing;
    if (batch === null || batch.seq !== seq) {
      if (batch !== null) batch.queue();
      batch = this.publishing = new PublishBatch(this, seq, frame, data, binary, NativeWebSocket.publishAnswer);
    }
    batch.collect(ws);
    return batch;
  }

  /** Writes what was queued outside a batch, once per tick. */
  scheduleFlush() {
    if (this.dispatching || this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(flushTick, this);
  }

  /**
   * One batch (every readiness of a loop turn): each event in order. `nums` holds
   * each event's kind, id and numeric fields; its other values are the next ones of
   * `vals`; message payloads are views of `batch`. A listener that throws does not
   * lose the events after it (a lost close would leave a connection behind); its
   * error is rethrown at the end, as an uncaught exception.
   */
  dispatch(nums, vals, batch) {
    this.dispatching = true;
    this.batches++;
    let failure = null;
    try {
      for (let i = 0, v = 0; i < nums.length; ) {
        const kind = nums[i];
        try {
          this.handle(kind, nums[i + 1], nums, i, vals, v, batch);
        } catch (err) {
          if (failure === null) failure = err;
          else process.nextTick(rethrow, err);
        }
        i += width(kind);
        v += valueCount(kind);
      }
    } finally {
      this.dispatching = false;
    }
    if (failure !== null) throw failure;
  }

  /** @private */
  handle(kind, id, nums, i, vals, v, batch) {
    if (kind === EV_REQUEST) {
      this.onRequest(id, vals[v], vals[v + 1], nums[i + 2]);
      return;
    }
    if (kind === EV_REFUSED) {
      this.onRefused(id, vals[v], vals[v + 1], vals[v + 2], vals[v + 3]);
      return;
    }
    if (kind === EV_ABORTED) {
      this.pending.delete(id);
      this.maybeClosed();
      return;
    }
    const ws = this.sockets.get(id);
    if (ws === undefined) return;
    if (this.oneAtATime && kind !== EV_DRAINED) {
      this.handleOneAtATime(ws, kind, id, nums, i, vals, v, batch);
      return;
    }
    switch (kind) {
      case EV_MESSAGE:
        ws._onMessage(batch.subarray(nums[i + 3], nums[i + 4]), nums[i + 2] === 1, takeEnds(ws));
        break;
      case EV_MESSAGE_COPY:
        ws._onMessage(vals[v], nums[i + 2] === 1, takeEnds(ws));
        break;
      case EV_FRAME_ENDS:
        // The next message's frame boundaries, for binaryType 'fragments'.
        ws._frameEnds = vals[v];
        break;
      case EV_PING:
        ws._onPing(vals[v]);
        break;
      case EV_PONG:
        ws.emit('pong', vals[v]);
        break;
      case EV_CLOSE_FRAME:
        ws._onCloseFrame();
        break;
      case EV_ERROR:
        ws._onError(vals[v]);
        break;
      case EV_DRAINED:
        ws._onDrained();
        break;
      case EV_CLOSED:
        this.sockets.delete(id);
        socketClosed(ws, nums[i + 3], nums[i + 4]);
        this.reportClosed(ws, nums[i + 2], vals[v], nums[i + 5] === 1, nums[i + 4]);
        break;
    }
  }

  /**
   * `allowSynchronousEvents: false`: a connection's first event of a batch is handled
   * now; after a message, ping or pong the ones behind it wait and come one per
   * macrotask (as ws's receiver defers them), reading paused meanwhile (ws stops
   * reading its socket too). Output is held while a close frame or a violation waits,
   * so the close the core owes follows the replies to the events before it.
   *
   * @private
   */
  handleOneAtATime(ws, kind, id, nums, i, vals, v, batch) {
    let event;
    switch (kind) {
      case EV_FRAME_ENDS:
        // Kept with the message it describes.
        ws._frameEnds = vals[v];
        return;
      case EV_MESSAGE:
        event = [kind, batch.subarray(nums[i + 3], nums[i + 4]), nums[i + 2] === 1, takeEnds(ws)];
        break;
      case EV_MESSAGE_COPY:
        event = [kind, vals[v], nums[i + 2] === 1, takeEnds(ws)];
        break;
      case EV_CLOSED:
        this.sockets.delete(id);
        socketClosed(ws, nums[i + 3], nums[i + 4]);
        event = [kind, nums[i + 2], vals[v], nums[i + 5] === 1, nums[i + 4]];
        break;
      default:
        event = [kind, vals[v]];
    }
    const waiting = ws._waiting;
    // What is not a message, ping or pong comes in the same macrotask as the event
    // before it (ws's receiver parses on after the deferred event).
    const follows = !deferredKind(kind) && waiting !== null && waiting.length === 0;
    if (waiting !== null && !(follows && waiting.batch === this.batches)) {
      waiting.push(event);
      if (kind === EV_CLOSE_FRAME || kind === EV_ERROR) this.native.setHeld(id, true);
      return;
    }
    this.deliver(ws, event);
  }

  /**
   * A connection closed: its WebSocket's 'close'. A closing server's last connection:
   * as with ws's HTTP server, the server's 'close' comes first (Node's server counts
   * the socket gone at once), the WebSocket's once the socket's handle is closed, a
   * macrotask later. A close caused by a call from JS (terminate(), a failed write) is
   * reported a macrotask later, as Node reports a destroyed socket's 'close'.
   * @private
   */
  reportClosed(ws, code, reason, clean, bytesWritten) {
    if (this.maybeClosed(true) || this.flushing) {
      setImmediate(closed, this.wss, ws, code, reason, clean, bytesWritten);
    } else {
      closed(this.wss, ws, code, reason, clean, bytesWritten);
    }
  }

  /** One event of `handleOneAtATime`; what follows a message, ping or pong waits. @private */
  deliver(ws, event) {
    const kind = event[0];
    switch (kind) {
      case EV_MESSAGE:
      case EV_MESSAGE_COPY:
        ws._onMessage(event[1], event[2], event[3]);
        break;
      case EV_PING:
        ws._onPing(event[1]);
        break;
      case EV_PONG:
        ws.emit('pong', event[1]);
        break;
      case EV_CLOSE_FRAME:
        ws._onCloseFrame();
        return;
      case EV_ERROR:
        ws._onError(event[1]);
        return;
      case EV_CLOSED:
        this.reportClosed(ws, event[1], event[2], event[3], event[4]);
        return;
    }
    if (ws._waiting === null && ws._readyState !== CLOSED_STATE) {
      ws._waiting = [];
      ws._waiting.batch = this.batches;
      this.native.setPaused(ws._id, true);
      setImmediate(deliverWaiting, this, ws);
    }
  }

  // ---- the opening handshake: ws's decisions ---------------------------------------

  /** @private */
  onRequest(id, url, flat, version) {
    const wss = this.wss;
    const req = new NativeRequest(url, flat, this, id);
    if (!wss.shouldHandle(req)) return this.reject(id, 400);
    const protocols = this.native.protocols(id);
    if (!Array.isArray(protocols)) {
      if (this.emitsClientErrors()) return this.clientError(id, req, protocols.message);
      return this.reject(id, protocols.status, protocols.message, protocols.headers);
    }
    // The offer, where ws answers it: after the subprotocols, before verifyClient.
    let agreed = false;
    if (this.deflate) {
      agreed = this.native.negotiate(id);
      if (typeof agreed !== 'boolean') {
        if (this.emitsClientErrors()) return this.clientError(id, req, agreed.message);
        return this.reject(id, agreed.status, agreed.message, agreed.headers);
      }
    }
    this.pending.set(id, req);
    const verify = wss.options.verifyClient;
    if (verify) {
      const info = {
        origin: req.headers[version === 8 ? 'sec-websocket-origin' : 'origin'],
        secure: false,
        req
      };
      if (verify.length === 2) {
        verify(info, (verified, code, message, headers) => {
          if (!this.pending.has(id)) return;
          if (!verified) return this.reject(id, code || 401, message, headers);
          this.complete(id, req, protocols, agreed);
        });
        return;
      }
      if (!verify(info)) return this.reject(id, 401);
    }
    this.complete(id, req, protocols, agreed);
  }

  /** @private */
  complete(id, req, protocols, agreed) {
    const wss = this.wss;
    this.pending.delete(id);
    if (wss._state > RUNNING) return this.reject(id, 503);
    let protocol;
    if (protocols.length) {
      protocol = wss.options.handleProtocols
        ? wss.options.handleProtocols(new Set(protocols), req)
        : protocols[0];
    }
    protocol = protocol ? String(protocol) : undefined;
    let response;
    let accepted;
    try {
      if (wss.listenerCount('headers') > 0) {
        response = emitHeaders(wss, this.native.preview(id, protocol), req);
      }
      accepted = this.native.accept(id, protocol, response);
    } catch (err) {
      this.reject(id, 500);
      throw new TypeError(err.message);
    }
    this.scheduleFlush();
    if (!accepted) return;
    const ws = new NativeWebSocket(this, id, protocol || '', req._socket);
    req._ws = ws;
    // ws's `extensions`: the names agreed on (its params are in the 101).
    if (agreed) ws._extensions = 'permessage-deflate';
    ws[kHub] = wss._hub;
    this.sockets.set(id, ws);
    if (wss.clients) wss.clients.add(ws);
    wss.emit('connection', ws, req);
  }

  /**
   * An upgrade the core refused (method, Upgrade, key, version): ws's
   * abortHandshakeOrEmitwsClientError. @private
   */
  onRefused(id, url, flat, message, method) {
    if (!this.emitsClientErrors()) {
      this.native.rejectRefused(id);
      this.scheduleFlush();
      this.maybeClosed();
      return;
    }
    this.clientError(id, new NativeRequest(url, flat, this, id, method), message);
  }

  /** @private */
  emitsClientErrors() {
    return this.wss.listenerCount('wsClientError') > 0;
  }

  /**
   * ws's 'wsClientError': the listener gets the error, the socket (whose writes are
   * the HTTP answer, as they are) and the request. @private
   */
  clientError(id, req, message) {
    this.native.refuseRaw(id);
    const socket = new NativeSocket(this, id, true);
    req._socket = socket;
    this.scheduleFlush();
    this.wss.emit('wsClientError', new Error(message), socket, req);
  }

  /** Refuses a request as ws's abortHandshake answers. */
  reject(id, code, message, headers) {
    this.pending.delete(id);
    const flat = [];
    if (Array.isArray(headers)) flat.push(...headers.map(String));
    else if (headers) for (const k of Object.keys(headers)) flat.push(k, String(headers[k]));
    this.native.reject(id, code, message || http.STATUS_CODES[code] || '', flat);
    this.scheduleFlush();
    this.maybeClosed();
  }

  // ---- closing ---------------------------------------------------------------------

  /** ws's close(): stop accepting; `onEmpty` once the last connection is gone. */
  close() {
    this.closing = true;
    if (this.listens && this.native !== null) this.native.closeListener();
    this.scheduleFlush();
    process.nextTick(() => this.maybeClosed());
  }

  /**
   * Emits the server's 'close' once it is closing and nothing is left: on the next
   * tick, or now (`now`) when the last connection has just closed — ws's HTTP server
   * reports its 'close' before that socket's, so the server's comes first there.
   *
   * @private
   */
  maybeClosed(now = false) {
    if (!this.closing || this.sockets.size || this.pending.size || this.destroyed) return false;
    // The native server's methods do nothing once destroyed: `ws._socket` of a closed
    // connection still answers.
    this.destroyed = true;
    if (now) {
      process.nextTick(() => this.native !== null && this.native.destroy());
      if (this.onEmpty) this.onEmpty();
      return true;
    }
    process.nextTick(() => {
      if (this.native !== null) this.native.destroy();
      if (this.onEmpty) this.onEmpty();
    });
    return true;
  }
}

/** A numeric option as ws reads one (`+value`); `undefined` stays the default. */
function numeric(value) {
  return value === undefined || typeof value === 'number' ? value : Number(value);
}

/** ws's `concurrencyLimit` (its zlib limiter): a positive integer, else the default. */
function concurrency(value) {
  const n = numeric(value);
  return typeof n === 'number' && n >= 1 && Number.isFinite(n) ? Math.floor(n) : undefined;
}

/** How many numbers an event takes in a batch (its kind, its id, its numeric fields). */
function width(kind) {
  switch (kind) {
    case EV_CLOSED:
      return 6;
    case EV_MESSAGE:
      return 5;
    case EV_REQUEST:
    case EV_MESSAGE_COPY:
      return 3;
    default:
      return 2;
  }
}

/** How many of the batch's other values an event takes. */
function valueCount(kind) {
  switch (kind) {
    case EV_REQUEST:
      return 2;
    case EV_REFUSED:
      return 4;
    case EV_FRAME_ENDS:
    case EV_MESSAGE_COPY:
    case EV_PING:
    case EV_PONG:
    case EV_ERROR:
    case EV_CLOSED:
      return 1;
    default:
      return 0;
  }
}

/**
 * The `req` of 'connection', verifyClient and handleProtocols: what ws users read
 * from an http.IncomingMessage (url, headers, rawHeaders, socket addresses).
 */
class NativeRequest {
  constructor(url, flat, transport, id, method = 'GET') {
    this.method = method;
    this.url = url;
    this.httpVersion = '1.1';
    this.rawHeaders = flat;
    this._transport = transport;
    this._id = id;
    // `req.socket`, once read (it is the WebSocket's `_socket` once there is one).
    this._socket = undefined;
    this._ws = null;
    const headers = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i].toLowerCase();
      headers[name] = headers[name] === undefined ? flat[i + 1] : `${headers[name]}, ${flat[i + 1]}`;
    }
    this.headers = headers;
  }

  get socket() {
    if (this._socket === undefined) {
      this._socket = this._ws !== null ? this._ws._socket : new NativeSocket(this._transport, this._id);
    }
    return this._socket;
  }

  get connection() {
    return this.socket;
  }
}

/**
 * The limits of a server's (or a client's) connections, as the engine takes them.
 *
 * @param {Object} options
 */
function connectionOptions(options) {
  return engineOptions(socketOptions(options, null));
}

/**
 * The descriptor of a plain TCP `net.Socket` whose I/O Rust can take over, or -1:
 * TLS sockets, Unix sockets, sockets with writes still queued in Node, and other
 * Duplex streams stay on Node's stream transport.
 *
 * @param {*} socket
 * @return {number}
 */
function adoptableFd(socket) {
  if (!(socket instanceof net.Socket) || socket.encrypted || socket.destroyed) return -1;
  const handle = socket._handle;
  if (handle == null || typeof handle.fd !== 'number' || handle.fd < 0) return -1;
  // TCP only (a Unix socket has no remote family); read before the handle goes, so
  // that `req.socket.remoteAddress` keeps answering afterwards (Node caches it).
  const family = socket.remoteFamily;
  if (family !== 'IPv4' && family !== 'IPv6') return -1;
  void socket.localAddress;
  if (socket.writableLength !== 0 || socket.connecting) return -1;
  return handle.fd;
}

/**
 * The open WebSockets by id, as a Map would hold them (get, set, delete, size): an
 * array indexed by the id's table slot (its low 24 bits, `Token` in
 * crates/transport/src/poller.rs), each entry checked against the whole id. Ids are
 * rarely small integers, so a Map would box each key; this holds 8 bytes a slot.
 */
class SocketTable {
  constructor() {
    this.slots = [];
    this.size = 0;
  }

  get(id) {
    const ws = this.slots[id & SLOT_MASK];
    return ws !== undefined && ws._id === id ? ws : undefined;
  }

  set(id, ws) {
    const i = id & SLOT_MASK;
    if (this.slots[i] === undefined) this.size++;
    this.slots[i] = ws;
    return this;
  }

  delete(id) {
    const i = id & SLOT_MASK;
    const ws = this.slots[i];
    if (ws === undefined || ws._id !== id) return false;
    this.slots[i] = undefined;
    this.size--;
    return true;
  }
}

const SLOT_MASK = 0xffffff;

/** The frame boundaries reported for the message about to be delivered (or null). */
function takeEnds(ws) {
  const ends = ws._frameEnds;
  if (ends === null) return null;
  ws._frameEnds = null;
  return ends;
}

/** Whether an event of this kind makes the ones behind it wait for a macrotask. */
function deferredKind(kind) {
  return kind === EV_MESSAGE || kind === EV_MESSAGE_COPY || kind === EV_PING || kind === EV_PONG;
}

/** The next waiting event of `ws` (allowSynchronousEvents: false), one per macrotask. */
function deliverWaiting(transport, ws) {
  const waiting = ws._waiting;
  while (waiting.length) {
    const event = waiting.shift();
    const kind = event[0];
    if (kind === EV_CLOSE_FRAME || kind === EV_ERROR) transport.native.setHeld(ws._id, false);
    try {
      transport.deliver(ws, event);
    } finally {
      transport.scheduleFlush();
    }
    if (deferredKind(kind) && waiting.length && deferredKind(waiting[0][0])) {
      setImmediate(deliverWaiting, transport, ws);
      return;
    }
  }
  ws._waiting = null;
  if (!ws._paused && ws._readyState !== CLOSED_STATE) transport.native.setPaused(ws._id, false);
  transport.scheduleFlush();
}

/**
 * `ws._socket`'s side of a close: its final counts and events. One nobody asked for is
 * not made now: the getter makes it with these counts if it is read later. A throwing
 * 'finish'/'close' listener loses no close (the WebSocket's comes after this anyway).
 */
function socketClosed(ws, bytesRead, bytesWritten) {
  if (ws._sock === undefined) {
    ws._finalCounts = { bytesRead, bytesWritten };
    return;
  }
  try {
    ws._sock._onClosed(bytesRead, bytesWritten);
  } catch (err) {
    process.nextTick(rethrow, err);
  }
}

/** A WebSocket's connection closed: it leaves the server's clients, then 'close'. */
function closed(wss, ws, code, reason, clean, bytesWritten) {
  if (wss !== null && wss.clients) wss.clients.delete(ws);
  ws._onClosed(code, reason, clean, bytesWritten);
}

function flushTick(transport) {
  transport.flushScheduled = false;
  if (transport.destroyed) return;
  transport.flushing = true;
  try {
    transport.native.flush();
  } finally {
    transport.flushing = false;
  }
}

function rethrow(err) {
  throw err;
}

/**
 * What the native transport cannot do for a client with these options (as
 * `unsupportedServerOptions`), or null.
 *
 * @param {Object} options the client's options, defaulted
 * @return {string|null}
 */
function unsupportedClientOptions(options) {
  if (options.allowSynchronousEvents === false) {
    return 'allowSynchronousEvents: false is not supported';
  }
  if (options.generateMask) return 'The "generateMask" option is not supported';
  return null;
}

let clientTransport = null;

/** The one transport of this thread's client connections, made on first use. */
function clientsTransport() {
  if (clientTransport === null) {
    clientTransport = new NativeTransport(null, {}, { listen: false });
  }
  return clientTransport;
}

module.exports = {
  NativeTransport,
  unsupportedServerOptions,
  unsupportedClientOptions,
  clientsTransport,
  adoptableFd
};
