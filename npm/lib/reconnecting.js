'use strict';

// ReconnectingWebSocket for Node: the core's reconnecting heartbeat session (crates/core
// session.rs, through the addon's `Session`) driving ferrosocket's own ws-compatible WebSocket.
// Same options and events as the browser package (pkg/README.md); the heartbeat uses protocol
// ping frames by default here. This file only carries out the session's actions and reports
// what happened with the current time; it decides nothing (backoff, heartbeat, queue, policy).

const EventEmitter = require('events');

const { Session } = require('./binding');
const WebSocket = require('./websocket');
const { CloseEvent, DetailEvent, defineEventTarget, webSocketEvents } = require('./event-target');

const EMPTY = Buffer.alloc(0);
const toBuffer = (d) => (Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d));
const provide = (v, attempt) => (typeof v === 'function' ? v(attempt) : v);
const protocolList = (p) => (p == null ? [] : typeof p === 'string' ? [p] : [...p]);

// The options go to the core by name (its one schema, crates/core/src/session/options.rs):
// `heartbeat: { interval }` becomes `heartbeat.interval`. The core's message is thrown as a
// TypeError; options that are not the session's are left to this class.
function sessionWith(options) {
  const session = new Session();
  const set = (key, value) => {
    if (value == null) return;
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) value = Buffer.from(value.buffer || value);
    try {
      session.option(key, value);
    } catch (err) {
      throw new TypeError(`ReconnectingWebSocket: ${err.message}`);
    }
  };
  for (const [key, value] of Object.entries(options)) {
    if (key === 'heartbeat' && value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) set(`heartbeat.${k}`, v);
    } else set(key, value);
  }
  return session;
}

class ReconnectingWebSocket extends EventEmitter {
  /**
   * @param {string | URL | ((attempt: number) => string)} url
   * @param {string | string[] | ((attempt: number) => string | string[])} [protocols]
   * @param {object} [options] session options (minDelay, maxDelay, growFactor, maxRetries,
   *   connectionTimeout, minUptime, heartbeat {mode, interval, timeout, ping, pong},
   *   maxQueuedMessages, maxQueuedBytes, overflow, reconnectOnAppCodes, stopCodes), plus
   *   `binaryType` and `wsOptions` (passed to each underlying WebSocket)
   */
  constructor(url, protocols, options = {}) {
    super();
    const { binaryType, wsOptions, ...sessionOptions } = options;
    this._url = url;
    this._protocols = protocols;
    this._wsOptions = wsOptions || {};
    this._binaryType = binaryType || 'nodebuffer';
    this._session = sessionWith(sessionOptions);
    this._ws = null;
    this._timer = null;
    try {
      this._run((s, now) => s.start(now));
    } catch (err) {
      throw new TypeError(`ReconnectingWebSocket: ${err.message}`);
    }
  }

  // ---- the loop: report to the session, carry out its actions, re-arm the timer ----

  _run(fn) {
    const now = Date.now();
    const result = fn(this._session, now);
    for (const a of this._session.takeActions()) this._act(a, now);
    clearTimeout(this._timer);
    this._timer = null;
    const deadline = this._session.nextDeadline();
    if (deadline != null) {
      this._timer = setTimeout(() => this._run((s, t) => s.tick(t)), Math.max(0, deadline - now));
    }
    return result;
  }

  _act(a, now) {
    switch (a.kind) {
      case 'connect':
        this.emit('connecting', { attempt: a.attempt });
        this._connect(a.attempt, now);
        break;
      case 'send':
      case 'heartbeat':
        if (this._ws) this._ws.send(a.data);
        if (a.kind === 'heartbeat') this.emit('ping');
        break;
      case 'ping':
        if (this._ws) this._ws.ping();
        this.emit('ping');
        break;
      case 'close':
        if (this._ws) this._ws.close(a.code, a.reason);
        break;
      case 'abort': {
        // The session has moved on: forget this socket; report its close ourselves.
        const ws = this._detach();
        if (ws) ws.terminate();
        this.emit('close', a.code, a.reason);
        break;
      }
      case 'reconnecting':
        this.emit('reconnecting', { attempt: a.attempt, delay: a.delay, at: a.at });
        break;
      case 'heartbeat-timeout':
        this.emit('heartbeattimeout');
        break;
      case 'dropped':
        this.emit('dropped', a.data, a.reason);
        break;
      case 'end':
        this.emit('end', { reason: a.reason, code: a.code ?? null });
        break;
    }
  }

  _connect(attempt, now) {
    let ws;
    try {
      const protocols = protocolList(provide(this._protocols, attempt));
      const ack = this._session.subprotocol;
      if (ack) protocols.push(ack);
      ws = new WebSocket(String(provide(this._url, attempt)), protocols, this._wsOptions);
    } catch (err) {
      // Bad URL or provider failure: a failed attempt, like a refused connection.
      this.emit('error', err);
      this._session.closed(now, null);
      return;
    }
    // Acknowledged mode reads frame headers: Buffers inside, the user's binaryType outside.
    ws.binaryType = this._session.subprotocol ? 'nodebuffer' : this._binaryType;
    this._ws = ws;
    ws.on('open', () => this._current(ws) && this._run((s, t) => {
      this.emit('open');
      s.opened(t, ws.protocol);
    }));
    ws.on('message', (data, isBinary) => {
      if (!this._current(ws)) return;
      const bytes = isBinary ? toBuffer(data) : null;
      const r = this._run((s, t) => s.received(t, isBinary ? bytes : data.toString()));
      if (r === 1) this.emit('message', data, isBinary);
      else if (r === 2) this.emit('pong', this._session.rtt);
      else if (r > 2) {
        // Acknowledged mode: a new message; its payload follows the frame header.
        const payload = bytes.subarray(r >> 1);
        this.emit('message', r & 1 ? payload : this._binary(payload), !(r & 1));
      }
    });
    ws.on('pong', () => {
      if (!this._current(ws)) return;
      this._run((s, t) => s.pongReceived(t));
      this.emit('pong', this._session.rtt);
    });
    ws.on('ping', () => this._current(ws) && this._run((s, t) => s.received(t, EMPTY)));
    ws.on('error', (err) => this._current(ws) && this.emit('error', err));
    ws.on('close', (code, reason) => {
      if (!this._current(ws)) return;
      this._ws = null;
      this.emit('close', code, reason.toString());
      // 1006: no close frame (RFC 6455 §7.1.5).
      this._run((s, t) => s.closed(t, code === 1006 ? null : code));
    });
  }

  _current(ws) {
    return this._ws === ws;
  }

  /** A payload as the `binaryType` asks for it. */
  _binary(buf) {
    if (this._binaryType === 'arraybuffer') return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
    return this._binaryType === 'fragments' ? [buf] : buf;
  }

  /** The socket is closing on its own (the peer's close frame): the session queues from now on. */
  _sync() {
    if (this._ws && this._ws.readyState === WebSocket.CLOSING) this._session.linkClosing(Date.now());
  }

  _detach() {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => {});
    }
    return ws;
  }

  // ---- the WebSocket-shaped surface ----

  get readyState() { this._sync(); return this._session.readyState; }
  /** `connecting`, `open`, `closing`, `waiting` (backoff), `closed`. */
  get state() { this._sync(); return this._session.state; }
  get url() { return typeof this._url === 'function' ? (this._ws ? this._ws.url : '') : String(this._url); }
  get protocol() { return this._ws ? this._ws.protocol : ''; }
  get extensions() { return this._ws ? this._ws.extensions : ''; }
  get bufferedAmount() { return (this._ws ? this._ws.bufferedAmount : 0) + this._session.queuedBytes; }
  get binaryType() { return this._binaryType; }
  set binaryType(t) {
    this._binaryType = t;
    if (this._ws && !this._session.subprotocol) this._ws.binaryType = t;
  }
  /** Failed attempts since the last stable link. */
  get retryCount() { return this._session.retryCount; }
  /** Last heartbeat round-trip time in ms, or null. */
  get rtt() { return this._session.rtt ?? null; }
  get queueLength() { return this._session.queueLength; }
  /** When the next attempt starts (like Date.now()), or null when not waiting. */
  get reconnectAt() { return this._session.reconnectAt ?? null; }

  /**
   * Sends now when open, queues while connecting, waiting or while the link closes; discarded
   * after close(). Acknowledged mode: kept until the server acknowledges it, sent again after a
   * reconnect.
   */
  send(data) {
    if (!(typeof data === 'string' || Buffer.isBuffer(data))) {
      if (data instanceof ArrayBuffer) data = Buffer.from(data);
      else if (ArrayBuffer.isView(data)) data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      else throw new TypeError('send() takes a string, a Buffer, an ArrayBuffer or a view');
    }
    this._sync();
    const refused = this._run((s, now) => s.send(now, data));
    if (refused && refused[0] !== 'closed') throw new Error(`ReconnectingWebSocket: ${refused[1]}`);
  }

  /** Closes for good: no reconnect afterwards. */
  close(code = 1000, reason = '') {
    this._run((s, now) => s.close(now, code, String(reason)));
  }

  /** Drops the current link, if any, and connects again at once with the backoff reset. */
  reconnect() {
    this._run((s, now) => s.reconnect(now));
  }

  /** Probe the link now / skip the backoff wait (call on network changes). */
  wake() {
    this._run((s, now) => s.wake(now));
  }
}

for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) {
  const value = WebSocket[name];
  Object.defineProperty(ReconnectingWebSocket, name, { value, enumerable: true });
  Object.defineProperty(ReconnectingWebSocket.prototype, name, { value, enumerable: true });
}

// Events as the browser package has them: WebSocket's for the standard ones (a close is
// clean unless abnormal or one of the session's own 4xxx codes), `detail` for the others.
defineEventTarget(
  ReconnectingWebSocket.prototype,
  {
    ...webSocketEvents,
    close: (target, code, reason) =>
      new CloseEvent('close', { code, reason, wasClean: code !== 1006 && code < 4000 }),
    pong: (target, rtt) => new DetailEvent('pong', { rtt }),
    dropped: (target, data, reason) => new DetailEvent('dropped', { data, reason })
  },
  ['open', 'message', 'close', 'error'],
  (type, target, detail) => new DetailEvent(type, detail)
);

module.exports = ReconnectingWebSocket;
