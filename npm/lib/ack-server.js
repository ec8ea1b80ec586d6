'use strict';

// The server half of acknowledged, resumable delivery (docs/acknowledged-delivery.md): on a
// WebSocketServer, every connection that selected the subprotocol belongs to a session (named
// by the client's HELLO); each client message is handed to the application once, in order, and
// acknowledged after the handler returned; duplicates (resent after a reconnect) are dropped by
// sequence number. Messages the server sends are kept in a bounded replay buffer per session
// until the client acknowledges them and are sent again when it comes back.

const EventEmitter = require('events');

// The protocol itself (frames, sequence numbers, de-duplication, replay buffer) is the
// core's (`session::peer`); this file keeps the session table and moves frames.
const { ACK_SUBPROTOCOL: SUBPROTOCOL, AckPeer, ackHello } = require('./binding');

const PAYLOAD_AT = 9; // type byte + 64-bit sequence number (session::wire::HEADER_LEN)

/** One client session: survives its connections; `send` is delivered once, in order. */
class AckSession extends EventEmitter {
  constructor(server, id, lastIn, nextOut) {
    super();
    this.id = id;
    this._server = server;
    this._ws = null;
    const { maxReplayMessages, maxReplayBytes } = server.options;
    this._peer = new AckPeer(lastIn, nextOut, maxReplayMessages, maxReplayBytes);
    this._ackScheduled = false;
    this._expiry = null;
  }

  /** The current connection, or null while the client is away. */
  get socket() { return this._ws; }
  /** Highest sequence number of the client's messages handed to the application. */
  get lastDelivered() { return this._peer.lastDelivered; }
  /** Messages sent but not acknowledged by the client. */
  get pending() { return this._peer.pending; }

  /** Sends a message (string = text, else binary); kept until the client acknowledges it. */
  send(data) {
    const payload = typeof data === 'string' || Buffer.isBuffer(data) ? data : Buffer.from(data.buffer ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data);
    const frame = this._peer.send(payload);
    const dropped = this._peer.takeDropped();
    if (dropped !== null) for (const seq of dropped) this.emit('dropped', seq);
    if (this._ws) this._ws.send(frame);
  }

  _attach(ws, lastSeen) {
    if (this._ws && this._ws !== ws) this._ws.terminate();
    clearTimeout(this._expiry);
    this._ws = ws;
    const resend = this._peer.reattach(lastSeen);
    this._ack();
    for (const frame of resend) ws.send(frame);
  }

  _detach(ws) {
    if (this._ws !== ws) return;
    this._ws = null;
    this._expiry = setTimeout(() => this._server._forget(this), this._server.options.sessionTimeout);
    this._expiry.unref();
  }

  _frame(ws, b) {
    const r = this._peer.receive(b);
    if (r < 0) return ws.close(-r, r === -1007 ? 'invalid UTF-8' : 'invalid frame');
    if (r > 0) this.emit('message', b.subarray(PAYLOAD_AT), r === 2, this._peer.lastDelivered);
    // Acknowledged once the handlers ran; one ACK for everything that arrived in this turn.
    if (!this._ackScheduled) {
      this._ackScheduled = true;
      setImmediate(() => this._ack());
    }
  }

  _ack() {
    this._ackScheduled = false;
    const frame = this._ws ? this._peer.ack() : null;
    if (frame !== null) this._ws.send(frame);
  }
}

/**
 * @param {import('./server')} wss the WebSocketServer whose acknowledged connections to serve;
 *   give it `handleProtocols: AckServer.handleProtocols` (or select the subprotocol yourself)
 * @param {object} [options]
 * @param {number} [options.maxSessions=10000] sessions remembered; the longest away is forgotten first
 * @param {number} [options.sessionTimeout=120000] ms a session is remembered after its client left
 * @param {number} [options.maxReplayMessages=1000] unacknowledged server messages kept per session
 * @param {number} [options.maxReplayBytes=1048576] and their bytes
 * @param {(id: string) => number | undefined} [options.lastDelivered] for a session this
 *   process does not know (e.g. after a restart): the highest sequence number the application
 *   already processed, if it keeps that durably; turns "at least once" after a crash into
 *   "exactly once"
 */
class AckServer extends EventEmitter {
  constructor(wss, options = {}) {
    super();
    this.options = {
      maxSessions: 10000, sessionTimeout: 120000, maxReplayMessages: 1000, maxReplayBytes: 1 << 20,
      lastDelivered: () => undefined, ...options,
    };
    this.sessions = new Map();
    wss.on('connection', (ws) => {
      if (ws.protocol === SUBPROTOCOL) this._serve(ws);
    });
  }

  /** A `handleProtocols` for WebSocketServer: selects the subprotocol when offered. */
  static handleProtocols(protocols) {
    return protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
  }

  _serve(ws) {
    let session = null;
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        // Text messages are outside the protocol (e.g. app-level heartbeats).
        if (session) session.emit('text', data.toString(), ws);
        return;
      }
      const b = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data.buffer ? data : new Uint8Array(data));
      if (session) return session._frame(ws, b);
      const hello = ackHello(b);
      if (hello === null) return ws.close(1002, 'HELLO expected');
      session = this._hello(ws, hello.id, hello.last);
    });
    ws.on('close', () => session && session._detach(ws));
  }

  _hello(ws, id, lastSeen) {
    let session = this.sessions.get(id);
    const fresh = !session;
    if (fresh) {
      const known = this.options.lastDelivered(id);
      // A session this process has never seen continues the client's numbering.
      session = new AckSession(this, id, Number.isInteger(known) ? known : 0, lastSeen + 1);
      if (this.sessions.size >= this.options.maxSessions) this._evict();
      this.sessions.set(id, session);
    } else {
      this.sessions.delete(id); // re-insert: the Map's order is "longest away first"
      this.sessions.set(id, session);
    }
    session._attach(ws, lastSeen);
    if (fresh) this.emit('session', session);
    session.emit('open', ws);
    return session;
  }

  _evict() {
    for (const s of this.sessions.values()) {
      if (!s.socket) return this._forget(s);
    }
    this._forget(this.sessions.values().next().value);
  }

  _forget(session) {
    if (this.sessions.get(session.id) !== session) return;
    clearTimeout(session._expiry);
    this.sessions.delete(session.id);
    if (session.socket) session.socket.terminate();
    session.emit('end');
  }
}

AckServer.SUBPROTOCOL = SUBPROTOCOL;
AckServer.AckSession = AckSession;

module.exports = AckServer;
