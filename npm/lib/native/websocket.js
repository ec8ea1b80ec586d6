'use strict';

// A server-side WebSocket whose socket Rust owns (the native transport). Same events,
// methods and errors as ./websocket.js for the common surface; the core decides the
// lifecycle and the transport (./transport.js) delivers its events here.

const WebSocket = require('../websocket');
const {
  EMPTY_BUFFER,
  kHub,
  kPublish,
  kShared,
  kWasClean,
  PUBLISH_SENT,
  PUBLISH_SKIPPED,
  PUBLISH_DROPPED,
  PUBLISH_CLOSED,
  SEND_DEFERRED,
  SEND_OVER_HIGH_WATER_MARK,
  SEND_DEFERRED_OVER_HIGH_WATER_MARK
} = require('../constants');
const { misuse, fromCore, droppedError, BACKPRESSURE_LIMIT } = require('../errors');
const { toSendable, isBlob, closeCodeArg } = require('../data');
const { enqueueBlob, enqueueClose } = require('../blob-queue');
const { toBinaryType } = require('../binary-type');
const NativeSocket = require('./socket');

const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

// Not `extends EventEmitter`: EventEmitter's constructor makes `_events` a
// dictionary-mode object (`{ __proto__: null }`, ~170 bytes more per idle connection).
// The fields it would set are set here, `_events` as a fast object; the prototype
// chain (below) still reaches EventEmitter.prototype, so `instanceof` and every
// emitter method are EventEmitter's own.
class NativeWebSocket {
  /**
   * @param {import('./transport')} transport
   * @param {number} id the connection's token
   * @param {string} protocol the subprotocol agreed on ('' if none)
   * @param {import('./socket')} [socket] the `ws._socket` / `req.socket` object, if
   *     `req.socket` was read already (made on first use otherwise)
   */
  constructor(transport, id, protocol, socket) {
    this._events = new Listeners();
    this._eventsCount = 0;
    openOn(this, transport, id, protocol, socket);
  }

  /**
   * A client WebSocket whose upgrade just completed runs on the native transport
   * from now on: the same object (its listeners, `url`, `binaryType` stay), with
   * this class's methods.
   *
   * @param {import('../websocket')} ws
   */
  static takeOver(ws, transport, id, protocol, socket) {
    Object.setPrototypeOf(ws, NativeWebSocket.prototype);
    // The stream WebSocket's own `_socket` (null) would hide the getter below.
    delete ws._socket;
    openOn(ws, transport, id, protocol, socket);
  }

  /** `ws._socket` (and `req.socket`): made on first use, then kept. */
  get _socket() {
    let socket = this._sock;
    if (socket === undefined) {
      socket = new NativeSocket(this._transport, this._id);
      // Asked for after the close: it is finished, with the connection's last counts.
      if (this._finalCounts !== undefined) socket._final = this._finalCounts;
      this._sock = socket;
    }
    return socket;
  }

  get bufferedAmount() {
    const native = this._transport.native;
    let queued = native.buffered(this._id);
    // Frames leave once per tick; asked now, the socket takes what it can first, so
    // the figure is what ws reports (its writes are not corked).
    if (queued > 0) queued = native.writeNow(this._id);
    return queued + this._closedBytes + (this._blobQueue !== null ? this._blobQueue.bytes : 0);
  }

  get readyState() {
    return this._readyState;
  }

  /**
   * ws's `_sender`, as far as packages use it: engine.io queues frames made once
   * with `Sender.frame()` through `_sender.sendFrame(list, cb)`.
   */
  get _sender() {
    // Made on first use, then kept: engine.io reads it for every packet.
    if (this._senderFacade === undefined) {
      this._senderFacade = { sendFrame: (list, cb) => sendFrames(this, list, cb) };
    }
    return this._senderFacade;
  }

  send(data, options, cb) {
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (typeof data === 'number') data = data.toString();
    if (this._readyState !== OPEN) {
      this._sendAfterClose(data, cb);
      return false;
    }
    let binary = typeof data !== 'string';
    let compress = true;
    let fin = true;
    let noMask = false;
    if (options !== undefined) {
      if (options.binary !== undefined) binary = !!options.binary;
      if (options.compress !== undefined) compress = !!options.compress;
      if (options.fin !== undefined) fin = !!options.fin;
      if (options.mask !== undefined) noMask = !options.mask;
    }
    // ws sends `data || EMPTY_BUFFER`: every falsy value is an empty message.
    if (!data) data = EMPTY_BUFFER;
    if (this._blobQueue !== null || isBlob(data)) {
      // A Blob's bytes are read asynchronously: it and what follows wait in order.
      this._blobQueue = enqueueBlob(this._blobQueue, blobSink(this), data, {
        binary,
        compress,
        fin,
        cb
      });
      return true;
    }
    return this._sendNow(toSendable(data), binary, fin, compress, cb, noMask);
  }

  /** @private */
  _sendNow(payload, binary, fin, compress, cb, noMask) {
    const answer = queueMessage(this, payload, binary, fin, compress, noMask);
    if (answer === null) {
      this._queued(cb);
      return true;
    }
    if (answer === SEND_DEFERRED) {
      // Into (or behind) a compression job: framed in order once it is back.
      this._deferred();
      this._queued(cb);
      return true;
    }
    if (answer === SEND_OVER_HIGH_WATER_MARK || answer === SEND_DEFERRED_OVER_HIGH_WATER_MARK) {
      // send() says false; 'drain' once the transport has written the queue.
      if (answer === SEND_DEFERRED_OVER_HIGH_WATER_MARK) this._deferred();
      this._needDrain = true;
      this._queued(cb);
      this._transport.native.notifyDrain(this._id);
      return false;
    }
    if (answer.code === BACKPRESSURE_LIMIT) {
      this._dropped(answer, payload, binary, cb);
      return false;
    }
    this._refused(answer, payload, cb);
    return false;
  }

  /** A send went behind a compression job: DRAINED tells when all is written. @private */
  _deferred() {
    if (this._behind) return;
    this._behind = true;
    this._transport.native.notifyDrain(this._id);
  }

  /** `maxBackpressure` refused a message (see ../websocket.js). @private */
  _dropped(info, data, binary, cb) {
    if (cb) process.nextTick(cb, droppedError(info));
    process.nextTick(emitDropped, this, data, binary);
    if (this._transport.native.state(this._id) !== 0) this._readyState = CLOSING;
    this._transport.scheduleFlush();
  }

  ping(data, mask, cb) {
    this._control(false, data, mask, cb);
  }

  pong(data, mask, cb) {
    this._control(true, data, mask, cb);
  }

  /** @private */
  _control(pong, data, mask, cb) {
    if (typeof data === 'function') {
      cb = data;
      data = mask = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
      mask = undefined;
    }
    if (typeof data === 'number') data = data.toString();
    if (this._readyState !== OPEN) {
      this._sendAfterClose(data, cb);
      return;
    }
    const payload = data ? toSendable(data) : EMPTY_BUFFER;
    const err = this._transport.native.control(
      this._id,
      pong,
      payload,
      mask === undefined ? undefined : !!mask
    );
    if (err) this._refused(err, data, cb);
    else this._queued(cb);
  }

  /**
   * The core refused a send: a misuse is thrown, as ws throws it; a connection the
   * core already closed (the peer ended it, this batch) is a send after close.
   *
   * @private
   */
  _refused(err, data, cb) {
    if (this._sock !== undefined && this._sock._userDestroyed && this._readyState === OPEN) {
      // `ws._socket.destroy()` then a send: ws writes to the destroyed socket, and
      // Node's stream answers the callback (ws's readyState changes on 'close').
      if (cb) process.nextTick(cb, streamDestroyed());
      return;
    }
    if (this._transport.native.state(this._id) !== 0) {
      this._readyState = CLOSING;
      this._sendAfterClose(data, cb);
      return;
    }
    throw misuse(err);
  }

  /**
   * A send was queued: its callback runs once the output is written. Each callback
   * keeps its place in the output (`writeEnd`): if the connection closes first, those
   * whose bytes had left get no error, as a net.Socket's write callbacks.
   *
   * @private
   */
  _queued(cb) {
    if (cb) {
      // Where its bytes end in the output; a send behind a compression job has no
      // place yet (it fails if the connection closes first, as in ws).
      const end = this._behind ? Infinity : this._transport.native.writeEnd(this._id);
      if (this._callbacks === null) {
        this._callbacks = [cb, end];
        this._transport.native.notifyDrain(this._id);
      } else {
        this._callbacks.push(cb, end);
      }
    }
    this._transport.scheduleFlush();
  }

  close(code, data) {
    if (this._readyState !== OPEN) return;
    let reason;
    // ws ignores the reason when no code is given (an empty close payload).
    if (data !== undefined && code !== undefined) {
      reason = typeof data === 'string' ? data : Buffer.from(data).toString();
    }
    if (this._blobQueue !== null) {
      // Sends queued behind a Blob go out first, then the close frame (ws's order).
      enqueueClose(this._blobQueue, closeCodeArg(code), reason);
      this._readyState = CLOSING;
      return;
    }
    const err = this._transport.native.close(this._id, closeCodeArg(code), reason);
    if (err) throw misuse(err);
    this._readyState = CLOSING;
    this._transport.scheduleFlush();
  }

  terminate() {
    if (this._readyState === CLOSED) return;
    this._readyState = CLOSING;
    this._transport.native.destroyConnection(this._id);
    this._transport.scheduleFlush();
  }

  pause() {
    if (this._readyState === CLOSED) return;
    this._paused = true;
    this._transport.native.setPaused(this._id, true);
  }

  resume() {
    if (this._readyState === CLOSED) return;
    this._paused = false;
    this._transport.native.setPaused(this._id, false);
  }

  // ---- events from the transport ---------------------------------------------------

  /** @private */
  _onPing(data) {
    // A client's own `autoPong` (its option), else its server's.
    const answer = this._autoPong === undefined ? this._transport.autoPong : this._autoPong;
    if (this._readyState === OPEN && answer) autoPong(this, data);
    this.emit('ping', data);
  }

  /** @private */
  /** `ends`: the frame boundaries of a binary message that came in several frames. */
  _onMessage(data, isBinary, ends = null) {
    this.emit('message', isBinary ? toBinaryType(data, this._binaryType, ends) : data, isBinary);
  }

  /** The peer's close frame: the core echoes it; reading goes on to see the end. */
  _onCloseFrame() {
    this._readyState = CLOSING;
    if (this._paused) this._transport.native.setPaused(this._id, false);
  }

  /** @private */
  _onError(info) {
    this._readyState = CLOSING;
    if (!this._errorEmitted) {
      this._errorEmitted = true;
      process.nextTick(emitError, this, fromCore(info));
    }
  }

  /** @private */
  _onDrained() {
    this._behind = false;
    const cbs = this._callbacks;
    this._callbacks = null;
    if (cbs !== null) for (let i = 0; i < cbs.length; i += 2) cbs[i](null);
    if (this._needDrain) {
      this._needDrain = false;
      this.emit('drain');
    }
  }

  /** @private */
  _onClosed(code, reason, clean, bytesWritten) {
    this._readyState = CLOSED;
    this._wasClean = clean;
    if (this[kHub] !== undefined) this[kHub].remove(this);
    const cbs = this._callbacks;
    this._callbacks = null;
    if (cbs !== null) {
      // ws's errors: sends still waiting for a compression job, or for the socket.
      // A send whose bytes left before the close (its place in the output is at most
      // what was written) succeeded.
      const err = new Error(
        this._behind
          ? 'The socket was closed while data was being compressed'
          : 'WebSocket is not open: readyState 3 (CLOSED)'
      );
      for (let i = 0; i < cbs.length; i += 2) cbs[i](cbs[i + 1] <= bytesWritten ? null : err);
    }
    this.emit('close', code, reason);
  }
}

/**
 * Queues a message on the native connection: one call per data type, the switches as
 * SEND_BINARY | SEND_FIN | SEND_COMPRESS | SEND_NO_MASK (crates/node/src/native/server.rs). Answers
 * null, over the high-water mark, or an error object (as Engine#send).
 */
function queueMessage(ws, payload, binary, fin, compress, noMask) {
  const flags = (binary ? 1 : 0) | (fin ? 2 : 0) | (compress ? 4 : 0) | (noMask ? 8 : 0);
  const transport = ws._transport;
  return typeof payload === 'string'
    ? transport.sendText(ws._id, payload, flags)
    : transport.sendBytes(ws._id, payload, flags);
}

const protoPong = NativeWebSocket.prototype.pong;

/**
 * Answers a ping as it is emitted, so the pong follows the replies to earlier
 * messages (as ../websocket.js does). An overridden `pong()` is called as ws calls
 * it; the core counts the pongs either way and says when a peer pings past the bound.
 */
function autoPong(ws, data) {
  const native = ws._transport.native;
  if (ws.pong === protoPong) {
    if (!native.answerPing(ws._id, data)) ws.terminate();
    else ws._transport.scheduleFlush();
    return;
  }
  if (!native.beginAutoPong(ws._id)) {
    ws.terminate();
    return;
  }
  ws.pong(data, false, () => native.autoPongWritten(ws._id));
}

/** `_sender.sendFrame(list, cb)`: whole frames queued in order with the sends. */
function sendFrames(ws, list, cb) {
  if (ws._readyState !== OPEN) {
    ws._sendAfterClose(undefined, cb);
    return;
  }
  const native = ws._transport.native;
  for (let i = 0; i < list.length; i++) {
    const answer = native.sendFrame(ws._id, list[i]);
    // A number: queued (over the high-water mark, which a raw frame does not report).
    if (answer === null || typeof answer === 'number') continue;
    if (answer.code === BACKPRESSURE_LIMIT) {
      ws._dropped(answer, list[i], true, cb);
      return;
    }
    ws._refused(answer, list[i], cb);
    return;
  }
  ws._queued(cb);
}

/** What the Blob queue needs from its WebSocket (../blob-queue.js). */
function blobSink(ws) {
  const native = ws._transport.native;
  return {
    // The core decides (a close queued behind the Blob has not reached it yet).
    canSend: () => ws._readyState !== CLOSED && native.state(ws._id) === 0,
    destroyed: () => ws._readyState === CLOSED || native.state(ws._id) === 2,
    send: (data, o) => ws._sendNow(toSendable(data), o.binary, o.fin, o.compress, o.cb),
    sendAfterClose: (cb) => ws._sendAfterClose(undefined, cb),
    close: (code, reason) => {
      if (ws._readyState === CLOSED) return;
      const err = native.close(ws._id, code, reason);
      if (err) throw misuse(err);
      ws._readyState = CLOSING;
      ws._transport.scheduleFlush();
    },
    fail: (err) => {
      if (ws._readyState === CLOSED) return;
      if (!ws._errorEmitted) {
        ws._errorEmitted = true;
        ws.emit('error', err);
      }
      ws._readyState = CLOSING;
      native.destroyConnection(ws._id);
      ws._transport.scheduleFlush();
    },
    done: () => {
      ws._blobQueue = null;
    }
  };
}

// `instanceof WebSocket` holds, and what is not overridden here (binaryType,
// protocol, isPaused, the on* attributes, addEventListener, send after close) is
// WebSocket's own (no engine, no stream state); the emitter is EventEmitter's.
Object.setPrototypeOf(NativeWebSocket.prototype, WebSocket.prototype);

/** The `_events` of a NativeWebSocket: a fast object with no Object.prototype keys. */
function Listeners() {}
Listeners.prototype = Object.create(null);

// Defaults of the fields an idle connection does not hold (an instance gets its own
// once one is set).
Object.assign(NativeWebSocket.prototype, {
  _protocol: '',
  _extensions: '',
  _binaryType: 'nodebuffer',
  _paused: false,
  _errorEmitted: false,
  _callbacks: null,
  _closedBytes: 0,
  _needDrain: false,
  // Sends wait behind a message being compressed on libuv's pool (until DRAINED).
  _behind: false,
  _autoPong: undefined,
  _finalCounts: undefined,
  // The next message's frame boundaries (EV_FRAME_ENDS), until it is delivered.
  _frameEnds: null,
  _blobQueue: null,
  // allowSynchronousEvents: false — events waiting for their macrotask (transport.js).
  _waiting: null,
  _sock: undefined,
  [kShared]: null // published frames are sent, not shared, here (see kPublish)
});

/**
 * A published message (pubsub.js). Uncompressed: the frame pubsub.js made once joins
 * the other subscribers of this publish on this transport, all queued by one native
 * call when pubsub.js ends the publish (transport.js `collectPublish`; the answer is
 * that batch). Compressed when asked and agreed: framed for this socket (its own
 * compression context).
 */
NativeWebSocket.prototype[kPublish] = function publish(frame, pendingBytes, data, binary, compress, seq) {
  if (this._readyState !== OPEN) return PUBLISH_SKIPPED;
  if (compress && this._extensions !== '') {
    return publishAnswer(this, queueMessage(this, data, binary, true, true), data, binary);
  }
  return this._transport.collectPublish(seq, frame, data, binary, this);
};

/**
 * What a queued publish means for `ws` and for the publish's counts (a PUBLISH_* code):
 * a drain to wait for, a compression job, or a message dropped at the backpressure
 * limit, as for `send()`.
 */
function publishAnswer(ws, answer, data, binary) {
  if (answer === null) {
    ws._transport.scheduleFlush();
    return PUBLISH_SENT;
  }
  if (answer === SEND_DEFERRED) {
    ws._deferred();
    ws._transport.scheduleFlush();
    return PUBLISH_SENT;
  }
  if (answer === SEND_OVER_HIGH_WATER_MARK || answer === SEND_DEFERRED_OVER_HIGH_WATER_MARK) {
    if (answer === SEND_DEFERRED_OVER_HIGH_WATER_MARK) ws._deferred();
    ws._needDrain = true;
    ws._transport.native.notifyDrain(ws._id);
    ws._transport.scheduleFlush();
    return PUBLISH_SENT;
  }
  if (answer.code === BACKPRESSURE_LIMIT) {
    ws._dropped(answer, data, binary);
    return ws._readyState === OPEN ? PUBLISH_DROPPED : PUBLISH_CLOSED;
  }
  return PUBLISH_SKIPPED;
}
NativeWebSocket.publishAnswer = publishAnswer;

/** Whether both close frames were exchanged (the CloseEvent's `wasClean`). */
NativeWebSocket.prototype[kWasClean] = function wasClean() {
  return this._wasClean === true;
};

/** The fields of an open native WebSocket. */
function openOn(ws, transport, id, protocol, socket) {
  ws._transport = transport;
  ws._id = id;
  ws._readyState = OPEN;
  // Fields that are rarely set keep their default on the prototype (see below)
  // until they are: an idle connection holds only these.
  if (protocol !== '') ws._protocol = protocol;
  if (socket !== undefined) ws._sock = socket;
}

/** Node's error for a write to a destroyed stream. */
function streamDestroyed() {
  const err = new Error('Cannot call write after a stream was destroyed');
  err.code = 'ERR_STREAM_DESTROYED';
  return err;
}

function emitError(ws, err) {
  ws.emit('error', err);
}

function emitDropped(ws, data, binary) {
  ws.emit('dropped', data, binary);
}

module.exports = NativeWebSocket;
