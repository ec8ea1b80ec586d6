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

const READY = { connecting: 0, waiting: 0, open: 1, closing: 2, closed: 3 };
const SEND_ERRORS = [null, null, 'offline queue is full', 'message is larger than the offline queue'];

const provide = (v, attempt) => (typeof v === 'function' ? v(attempt) : v);

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
    this._session = new Session(sessionOptions);
    this._ws = null;
    this._timer = null;
    this._run((s, now) => s.start(now));
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
      ws = new WebSocket(String(provide(this._url, attempt)), provide(this._protocols, attempt), this._wsOptions);
    } catch (err) {
      // Bad URL or provider failure: a failed attempt, like a refused connection.
      this.emit('error', err);
      this._session.closed(now, null);
      return;
    }
    ws.binaryType = this._binaryType;
    this._ws = ws;
    ws.on('open', () => this._current(ws) && this._run((s, t) => {
      this.emit('open');
      s.opened(t);
    }));
    ws.on('message', (data, isBinary) => {
      if (!this._current(ws)) return;
      const reply = this._run((s, t) => {
        if (isBinary) return s.binaryReceived(t, Buffer.isBuffer(data) ? data : Buffer.concat([].concat(data).map((d) => Buffer.from(d))));
        return s.textReceived(t, data.toString());
      });
      if (reply) this.emit('pong', this._session.rtt);
      else this.emit('message', data, isBinary);
    });
    ws.on('pong', () => {
      if (!this._current(ws)) return;
      this._run((s, t) => s.pongReceived(t));
      this.emit('pong', this._session.rtt);
    });
    ws.on('ping', () => this._current(ws) && this._run((s, t) => s.traffic(t)));
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

  get readyState() { return READY[this._session.state]; }
  /** `connecting`, `open`, `closing`, `waiting` (backoff), `closed`. */
  get state() { return this._session.state; }
  get url() { return typeof this._url === 'function' ? (this._ws ? this._ws.url : '') : String(this._url); }
  get protocol() { return this._ws ? this._ws.protocol : ''; }
  get extensions() { return this._ws ? this._ws.extensions : ''; }
  get bufferedAmount() { return (this._ws ? this._ws.bufferedAmount : 0) + this._session.queuedBytes; }
  get binaryType() { return this._binaryType; }
  set binaryType(t) {
    this._binaryType = t;
    if (this._ws) this._ws.binaryType = t;
  }
  /** Failed attempts since the last stable link. */
  get retryCount() { return this._session.retryCount; }
  /** Last heartbeat round-trip time in ms, or null. */
  get rtt() { return this._session.rtt ?? null; }
  get queueLength() { return this._session.queueLength; }
  /** When the next attempt starts (like Date.now()), or null when not waiting. */
  get reconnectAt() { return this._session.reconnectAt ?? null; }

  /** Sends now when open, queues while connecting or waiting; discarded after close(). */
  send(data) {
    if (!(typeof data === 'string' || Buffer.isBuffer(data))) {
      if (data instanceof ArrayBuffer) data = Buffer.from(data);
      else if (ArrayBuffer.isView(data)) data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      else throw new TypeError('send() takes a string, a Buffer, an ArrayBuffer or a view');
    }
    const r = this._run((s, now) => s.send(now, data));
    if (SEND_ERRORS[r]) throw new Error(`ReconnectingWebSocket: ${SEND_ERRORS[r]}`);
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
