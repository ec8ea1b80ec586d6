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
const { kFeatures, kHub } = require('../constants');
const { socketOptions } = require('../handshake');

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
  if (options.port == null) return 'The "server" and "noServer" modes are not supported';
  if (options.perMessageDeflate) return 'perMessageDeflate is not supported';
  if (options.WebSocket !== DefaultWebSocket) return 'The "WebSocket" option is not supported';
  return null;
}

class NativeTransport {
  /**
   * @param {import('../server')} wss
   * @param {Object} options the server's options
   * @param {Function} [onListening] listen()'s callback
   */
  constructor(wss, options, onListening) {
    this.wss = wss;
    this.sockets = new Map();
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
    const host = options.host == null ? undefined : String(options.host);
    if (host === undefined || net.isIP(host)) {
      this.listen(options, host, onListening);
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
        this.listen(options, address, onListening);
      }
    });
  }

  /** Listens on `host` (an IP address, or every address); 'listening' or 'error' next. @private */
  listen(options, host, onListening) {
    const wss = this.wss;
    // The limits as the stream transport reads them (`+value`, as ws).
    const limits = socketOptions(options, null);
    this.native = new NativeServer(
      {
        host,
        port: Number(options.port) >>> 0,
        backlog: options.backlog == null ? undefined : Number(options.backlog) | 0,
        handshakeTimeout: options.handshakeTimeout,
        connection: {
          maxPayload: limits.maxPayload,
          maxFragments: limits.maxFragments,
          maxBufferedChunks: limits.maxBufferedChunks,
          skipUtf8Validation: !!options.skipUTF8Validation,
          closeTimeout: limits.closeTimeout,
          maxPendingAutoPongs: limits.maxPendingAutoPongs,
          // Heartbeat, idle timeout, backpressure: the core's, run by the transport.
          ...options[kFeatures]
        }
      },
      (nums, vals, batch) => this.dispatch(nums, vals, batch)
    );
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

  address() {
    return this.native === null ? null : this.native.address();
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
        ws._onMessage(batch.subarray(nums[i + 3], nums[i + 4]), nums[i + 2] === 1);
        break;
      case EV_MESSAGE_COPY:
        ws._onMessage(vals[v], nums[i + 2] === 1);
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
        ws._socket._onClosed(nums[i + 3], nums[i + 4]);
        // A closing server's last connection: as with ws's HTTP server, the server's
        // 'close' comes first (Node's server counts the socket gone at once), the
        // WebSocket's once the socket's handle is closed, a macrotask later.
        // A close caused by a call from JS (terminate(), a failed write) is reported
        // a macrotask later, as Node reports a destroyed socket's 'close'.
        if (this.maybeClosed(true) || this.flushing) {
          setImmediate(closed, this.wss, ws, nums[i + 2], vals[v], nums[i + 4]);
          break;
        }
        closed(this.wss, ws, nums[i + 2], vals[v], nums[i + 4]);
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
      case EV_MESSAGE:
        event = [kind, batch.subarray(nums[i + 3], nums[i + 4]), nums[i + 2] === 1];
        break;
      case EV_MESSAGE_COPY:
        event = [kind, vals[v], nums[i + 2] === 1];
        break;
      case EV_CLOSED:
        this.sockets.delete(id);
        ws._socket._onClosed(nums[i + 3], nums[i + 4]);
        event = [kind, nums[i + 2], vals[v], nums[i + 4]];
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

  /** One event of `handleOneAtATime`; what follows a message, ping or pong waits. @private */
  deliver(ws, event) {
    const kind = event[0];
    switch (kind) {
      case EV_MESSAGE:
      case EV_MESSAGE_COPY:
        ws._onMessage(event[1], event[2]);
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
        if (this.maybeClosed(true) || this.flushing) {
          setImmediate(closed, this.wss, ws, event[1], event[2], event[3]);
        } else {
          closed(this.wss, ws, event[1], event[2], event[3]);
        }
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
    const socket = new NativeSocket(this, id);
    const req = new NativeRequest(url, flat, socket);
    if (!wss.shouldHandle(req)) return this.reject(id, 400);
    const protocols = this.native.protocols(id);
    if (!Array.isArray(protocols)) {
      return this.reject(id, protocols.status, protocols.message, protocols.headers);
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
          this.complete(id, req, socket, protocols);
        });
        return;
      }
      if (!verify(info)) return this.reject(id, 401);
    }
    this.complete(id, req, socket, protocols);
  }

  /** @private */
  complete(id, req, socket, protocols) {
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
        // 'headers' listeners may edit the lines: hand them out as ws does.
        const lines = this.native.preview(id, protocol).split('\r\n');
        while (lines.length && lines[lines.length - 1] === '') lines.pop();
        wss.emit('headers', lines, req);
        response = lines.concat('\r\n').join('\r\n');
      }
      accepted = this.native.accept(id, protocol, response);
    } catch (err) {
      this.reject(id, 500);
      throw new TypeError(err.message);
    }
    this.scheduleFlush();
    if (!accepted) return;
    const ws = new NativeWebSocket(this, id, protocol || '', socket);
    ws[kHub] = wss._hub;
    this.sockets.set(id, ws);
    if (wss.clients) wss.clients.add(ws);
    wss.emit('connection', ws, req);
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

  /** ws's close(): stop accepting; 'close' once the last connection is gone. */
  close() {
    this.closing = true;
    if (this.native !== null) this.native.closeListener();
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
      process.nextTick(() => this.native.destroy());
      this.wss._emitClose();
      return true;
    }
    process.nextTick(() => {
      if (this.native !== null) this.native.destroy();
      this.wss._emitClose();
    });
    return true;
  }
}

/** How many numbers an event takes in a batch (its kind, its id, its numeric fields). */
function width(kind) {
  switch (kind) {
    case EV_MESSAGE:
    case EV_CLOSED:
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
  constructor(url, flat, socket) {
    this.method = 'GET';
    this.url = url;
    this.httpVersion = '1.1';
    this.rawHeaders = flat;
    this.socket = socket;
    const headers = {};
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i].toLowerCase();
      headers[name] = headers[name] === undefined ? flat[i + 1] : `${headers[name]}, ${flat[i + 1]}`;
    }
    this.headers = headers;
  }

  get connection() {
    return this.socket;
  }
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

/** A WebSocket's connection closed: it leaves the server's clients, then 'close'. */
function closed(wss, ws, code, reason, bytesWritten) {
  if (wss.clients) wss.clients.delete(ws);
  ws._onClosed(code, reason, bytesWritten);
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

module.exports = { NativeTransport, unsupportedServerOptions };
