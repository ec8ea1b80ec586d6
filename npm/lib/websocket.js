'use strict';

// The ws-compatible WebSocket around the core's Engine. The engine decides the
// connection's lifecycle (close handshake, pongs and their bound, close timeout,
// when the socket is ended or destroyed); this file moves bytes and emits events.
// Each received chunk goes to the engine in one call; the events it returns are
// emitted in order; outgoing frames come back from the engine ready to write and
// are written once per flush (at the end of a chunk's events or on the next tick).

const EventEmitter = require('events');

const { Engine } = require('./binding');
const {
  BINARY_TYPES,
  EMPTY_BUFFER,
  READY_STATES,
  kWebSocket,
  kWasClean,
  kSetUrl,
  kFailHandshake,
  kHandshakeAborting,
  kHub,
  kPublish,
  kShared,
  kWriteShared,
  PUBLISH_SENT,
  PUBLISH_SKIPPED,
  PUBLISH_REACHED,
  PUBLISH_DROPPED,
  PUBLISH_CLOSED,
  NOOP,
  EV_TEXT,
  EV_BINARY,
  EV_PING,
  EV_PONG,
  EV_CLOSE,
  EV_ERROR,
  EV_TEXT_AT,
  EV_BINARY_AT,
  EV_FRAME_ENDS,
  EV_INFLATE,
  SEND_DEFERRED,
  SEND_OVER_HIGH_WATER_MARK,
  SEND_DEFERRED_OVER_HIGH_WATER_MARK
} = require('./constants');
const { fromCore, misuse, droppedError, BACKPRESSURE_LIMIT } = require('./errors');
const { defineEventTarget, webSocketEvents } = require('./event-target');
const { toSendable, isBlob, byteLength, closeCodeArg } = require('./data');
const { enqueueBlob, enqueueClose } = require('./blob-queue');
const { toBinaryType } = require('./binary-type');
const deadlines = require('./deadlines');
const { runTask } = require('./offload');
const { engineOptions } = require('./handshake');

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

class WebSocket extends EventEmitter {
  /**
   * @param {(String|URL|null)} address URL to connect to (`null` on the server side)
   * @param {(String|String[]|Object)} [protocols] subprotocols, or the options
   * @param {Object} [options]
   */
  constructor(address, protocols, options) {
    super();

    this._binaryType = BINARY_TYPES[0];
    this._errorEmitted = false;
    this._extensions = '';
    this._paused = false;
    this._protocol = '';
    this._readyState = CONNECTING;
    this._engine = null;
    this._engineOpen = true;
    this._engineArgs = null;
    this._socket = null;
    this._dispatching = false;
    this._flushScheduled = false;
    this._sendCallbacks = null;
    this._blobQueue = null;
    this._generateMask = null;
    this._closedBytes = 0;
    this._features = null;
    this._keepalive = false;
    this._needDrain = false;
    this[kShared] = null;
    // Large messages are (de)compressed off the JS thread (offload.js): calls made
    // while one is being compressed wait behind it in the engine (`_behind`, cached
    // from the engine's answers), their callbacks here in order (`_behindCbs`).
    this._behind = false;
    this._behindCbs = null;
    this._compressing = false;
    this._inflating = false;
    this._closeAfterInflate = false;
    this._zlibConcurrency = undefined;

    if (address !== null) {
      this._bufferedAmount = 0;
      this._isServer = false;
      const client = require('./client');
      options = client.initAsClient(
        this,
        address,
        ...client.normalizeArgs(protocols, options)
      );
    } else {
      this._isServer = true;
    }

    this._autoPong = options.autoPong !== false;
  }

  get binaryType() {
    return this._binaryType;
  }

  set binaryType(type) {
    if (!BINARY_TYPES.includes(type)) return;
    this._binaryType = type;
  }

  get bufferedAmount() {
    if (!this._socket) return this._bufferedAmount;
    // Frames are written once per tick; someone asking how much is buffered
    // gets them handed to the socket now, so the figure is what ws reports.
    if (
      !this._socket.destroyed &&
      ((this._engine !== null && this._engine.hasOutput) || this[kShared] !== null)
    ) {
      this._flush();
    }
    return (
      this._socket.writableLength +
      this._closedBytes +
      (this._blobQueue ? this._blobQueue.bytes : 0) +
      (this._behind ? this._engine.deferredBytes : 0)
    );
  }

  get extensions() {
    return this._extensions;
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

  get isPaused() {
    return this._paused;
  }

  get protocol() {
    return this._protocol;
  }

  get readyState() {
    // Before the socket is attached and after it closed, the state is the
    // socket's; in between it is the engine's (no engine yet = nothing happened).
    if (this._readyState !== OPEN || this._engine === null) return this._readyState;
    return this._engineOpen ? OPEN : CLOSING;
  }

  get url() {
    return this._url;
  }

  /**
   * Attaches the upgraded socket and starts the engine.
   *
   * @param {Duplex} socket
   * @param {Buffer} head bytes received after the handshake
   * @param {Object} options engine limits (maxPayload, ...) and `deflate` handle
   * @private
   */
  setSocket(socket, head, options) {
    // The engine is created on first use: an idle connection costs no native
    // object (see bench/RESULTS.md, idle connections).
    this._engineArgs = [
      this._isServer,
      engineOptions(options),
      options.deflate || null
    ];
    this._generateMask = options.generateMask || null;
    this._features = options.features || null;
    this._zlibConcurrency = options.concurrencyLimit;
    if (options.protocol !== undefined) this._protocol = options.protocol;
    if (options.extensions !== undefined) this._extensions = options.extensions;
    this._allowSync = options.allowSynchronousEvents !== false;
    this._deferred = null;
    this._deferredChunks = null;
    this._holdOutput = false;
    this._socket = socket;
    socket[kWebSocket] = this;

    if (socket.setTimeout) socket.setTimeout(0);
    if (socket.setNoDelay) socket.setNoDelay();

    if (head.length > 0) socket.unshift(head);

    socket.on('close', socketOnClose);
    socket.on('data', socketOnData);
    socket.on('end', socketOnEnd);
    socket.on('error', socketOnError);

    this._readyState = OPEN;
    // Heartbeat / idle timeout / max lifetime: the engine's deadlines start now.
    // The engine decides whether a heartbeat, idle timeout or max lifetime runs; its
    // deadlines start now.
    if (this._features !== null) {
      this._keepalive = engineOf(this).hasKeepalive;
      if (this._keepalive) scheduleDeadline(this._engine, this);
    }
    this.emit('open');
  }

  /**
   * Emits `'close'`.
   *
   * @private
   */
  emitClose() {
    const engine = this._engine;
    this._readyState = CLOSED;
    if (engine === null) this.emit('close', 1006, EMPTY_BUFFER);
    else this.emit('close', engine.closeCode, engine.closeReason());
  }

  close(code, data) {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      abortConnecting(this);
      return;
    }

    if (state === OPEN) {
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
      const err = engineOf(this).close(closeCodeArg(code), reason);
      if (err) throw misuse(err);
      syncState(this);
    }
    // A handshake failing (CLOSING, no socket yet) or a socket already gone.
    if (this._socket === null || this._socket[kWebSocket] === undefined) return;
    this._flush();
    applyLifecycle(this);
  }

  pause() {
    if (this._readyState === CONNECTING || this._readyState === CLOSED) return;
    this._paused = true;
    this._socket.pause();
  }

  resume() {
    if (this._readyState === CONNECTING || this._readyState === CLOSED) return;
    this._paused = false;
    this._socket.resume();
  }

  ping(data, mask, cb) {
    this._control('ping', data, mask, cb);
  }

  pong(data, mask, cb) {
    this._control('pong', data, mask, cb);
  }

  /** @private */
  _control(kind, data, mask, cb) {
    const state = this.readyState;
    if (state === CONNECTING) {
      throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    }
    if (typeof data === 'function') {
      cb = data;
      data = mask = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
      mask = undefined;
    }
    if (typeof data === 'number') data = data.toString();

    if (state !== OPEN) {
      this._sendAfterClose(data, cb);
      return;
    }

    const payload = data ? toSendable(data) : EMPTY_BUFFER;
    const masked = mask === undefined ? !this._isServer : !!mask;
    const key = masked ? maskKeyOf(this) : undefined;
    const err =
      kind === 'ping'
        ? engineOf(this).ping(payload, masked, key)
        : engineOf(this).pong(payload, masked, key);
    if (err) throw misuse(err);
    this._queued(cb);
  }

  send(data, options, cb) {
    const state = this.readyState;
    if (state === CONNECTING) {
      throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    }
    if (typeof options === 'function') {
      cb = options;
      options = undefined;
    }
    if (typeof data === 'number') data = data.toString();

    if (state !== OPEN) {
      this._sendAfterClose(data, cb);
      return false;
    }

    let binary = typeof data !== 'string';
    let compress = true;
    let fin = true;
    let mask = !this._isServer;
    if (options !== undefined) {
      if (options.binary !== undefined) binary = !!options.binary;
      if (options.compress !== undefined) compress = !!options.compress;
      if (options.fin !== undefined) fin = !!options.fin;
      if (options.mask !== undefined) mask = !!options.mask;
    }

    // ws sends `data || EMPTY_BUFFER`: every falsy value is an empty message.
    if (!data) data = EMPTY_BUFFER;

    if (this._blobQueue !== null || isBlob(data)) {
      this._blobQueue = enqueueBlob(this._blobQueue, blobSink(this), data, {
        binary,
        compress,
        fin,
        mask,
        cb
      });
      return true;
    }

    return sendNow(this, toSendable(data), binary, compress, fin, mask, cb);
  }

  /**
   * A send while not OPEN: counted in bufferedAmount as ws does, and its callback
   * gets ws's "not open" error.
   *
   * @private
   */
  _sendAfterClose(data, cb) {
    if (data) {
      const length = byteLength(data);
      if (this._socket) this._closedBytes += length;
      else this._bufferedAmount += length;
    }
    if (cb) {
      const err = new Error(
        `WebSocket is not open: readyState ${this.readyState} ` +
          `(${READY_STATES[this.readyState]})`
      );
      process.nextTick(cb, err);
    }
  }

  /** @private */
  _queued(cb) {
    if (this._behind) {
      // Framed once the message being compressed is (onDeflated).
      if (this._behindCbs === null) this._behindCbs = [cb || null];
      else this._behindCbs.push(cb || null);
      return;
    }
    if (cb) {
      if (this._sendCallbacks === null) this._sendCallbacks = [cb];
      else this._sendCallbacks.push(cb);
    }
    if (this._dispatching || this._flushScheduled) return;
    this._flushScheduled = true;
    process.nextTick(flushTick, this);
  }

  /**
   * Writes whatever the engine has framed; runs the pending send callbacks
   * (and `cb`) once the bytes are written.
   *
   * @private
   */
  _flush(cb) {
    if (this._holdOutput && this._engineOpen) {
      // Events of a chunk that ends in a violation or a close frame are still being
      // delivered one per macrotask: the close the engine owes must follow the replies
      // to all of them, so nothing is taken out until they are delivered.
      if (cb) this._queued(cb);
      return;
    }
    // Frames published before what the engine holds go first (pubsub.js).
    if (this[kShared] !== null) this[kHub].writeShared(this);
    const out = this._engine === null ? null : this._engine.takeOutput();
    if (out !== null) syncState(this);
    let cbs = this._sendCallbacks;
    this._sendCallbacks = null;
    if (cb) {
      if (cbs === null) cbs = [cb];
      else cbs.push(cb);
    }
    if (this._needDrain) {
      const user = cbs;
      cbs = [() => checkDrain(this)];
      if (user !== null) cbs = user.concat(cbs);
    }
    if (out === null) {
      if (cbs !== null) process.nextTick(runCallbacks, cbs, undefined);
      return;
    }
    if (cbs === null) {
      this._socket.write(out);
    } else {
      this._socket.write(out, (err) => runCallbacks(cbs, err));
    }
  }

  /**
   * Emits the events of one chunk, starting at `i`.
   *
   * @private
   */
  _dispatch(events, i, chunk) {
    this._dispatching = true;
    let ends = null;
    try {
      const n = events.length;
      while (i < n) {
        const kind = events[i];
        if (kind === EV_FRAME_ENDS) {
          // The next binary message came in several frames (binaryType 'fragments').
          ends = events[i + 1];
          i += 2;
          continue;
        }
        if (kind === EV_BINARY_AT) {
          const data = chunk.subarray(events[i + 1], events[i + 2]);
          this.emit('message', toBinaryType(data, this._binaryType, ends), true);
          ends = null;
          i += 3;
        } else if (kind === EV_TEXT_AT) {
          this.emit('message', chunk.subarray(events[i + 1], events[i + 2]), false);
          i += 3;
        } else if (kind === EV_BINARY) {
          this.emit('message', toBinaryType(events[i + 1], this._binaryType, ends), true);
          ends = null;
          i += 2;
        } else if (kind === EV_TEXT) {
          this.emit('message', events[i + 1], false);
          i += 2;
        } else if (kind === EV_PING) {
          if (this._autoPong && this.readyState === OPEN) autoPong(this, events[i + 1]);
          this.emit('ping', events[i + 1]);
          i += 2;
        } else if (kind === EV_PONG) {
          this.emit('pong', events[i + 1]);
          i += 2;
        } else if (kind === EV_CLOSE) {
          this._holdOutput = false;
          onCloseFrame(this);
          return;
        } else if (kind === EV_ERROR) {
          this._holdOutput = false;
          onProtocolError(this, events[i + 1]);
          return;
        } else if (kind === EV_INFLATE) {
          startInflate(this);
          return;
        } else {
          return;
        }
        if (this.readyState === CLOSED) return;
        if (!this._allowSync && i < n) {
          // allowSynchronousEvents: false — one message/ping/pong per macrotask.
          this._deferred = { events, i, chunk };
          const last = lastKind(events, i);
          this._holdOutput = last === EV_CLOSE || last === EV_ERROR;
          setImmediate(resumeDeferred, this);
          return;
        }
      }
    } finally {
      this._dispatching = false;
    }
  }

  terminate() {
    const state = this.readyState;
    if (state === CLOSED) return;
    if (state === CONNECTING) {
      abortConnecting(this);
      return;
    }
    if (this._socket) {
      // What was sent before terminate() is handed to the socket first, as ws writes
      // each frame at once; destroy() then drops what the kernel did not take. The
      // engine is terminated first: a close it owes for a violation later in the same
      // chunk is not written (ws had not parsed that far when terminate() was called).
      engineOf(this).terminate();
      syncState(this);
      if (this._engine.hasOutput && !this._socket.destroyed) this._flush();
      this._socket.destroy();
    }
  }
}

for (const [name, value] of [
  ['CONNECTING', CONNECTING],
  ['OPEN', OPEN],
  ['CLOSING', CLOSING],
  ['CLOSED', CLOSED]
]) {
  Object.defineProperty(WebSocket, name, { enumerable: true, value });
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value });
}

for (const property of [
  'binaryType',
  'bufferedAmount',
  'extensions',
  'isPaused',
  'protocol',
  'readyState',
  'url'
]) {
  Object.defineProperty(WebSocket.prototype, property, { enumerable: true });
}

// What client.js (the client handshake) may do to its WebSocket.
WebSocket.prototype[kSetUrl] = function setUrl(url) {
  this._url = url;
};

/** The handshake failed: 'error' (once) then 'close', as ws. */
WebSocket.prototype[kFailHandshake] = function failHandshake(err) {
  this._readyState = CLOSING;
  if (!this._errorEmitted) {
    this._errorEmitted = true;
    this.emit('error', err);
  }
  this.emitClose();
};

/** The handshake is being aborted: readyState becomes CLOSING until 'close'. */
WebSocket.prototype[kHandshakeAborting] = function handshakeAborting() {
  this._readyState = CLOSING;
};

/** Whether both close frames were exchanged (the CloseEvent's `wasClean`). */
WebSocket.prototype[kWasClean] = function wasClean() {
  return this._engine !== null && this._engine.wasClean;
};

/**
 * pubsub.js asks whether a published message may go to this socket: `frameLength`
 * bytes of a frame made once for all subscribers, behind `pendingBytes` of earlier
 * published frames not yet written. PUBLISH_REACHED = yes, the hub writes the shared
 * frame (after what this socket queued before: order with send() is kept);
 * PUBLISH_SENT = sent here, compressed for this receiver; otherwise skipped or dropped.
 */
WebSocket.prototype[kPublish] = function publish(frame, pendingBytes, data, binary, compress) {
  if (this.readyState !== OPEN) return PUBLISH_SKIPPED;
  const buffered = this._socket.writableLength + pendingBytes;
  if (compress && this._extensions !== '') {
    const answer = engineOf(this).send(data, binary, true, true, false, undefined, buffered);
    const result = publishResult(this, answer, data, binary);
    if (result !== PUBLISH_REACHED) return result;
    this._queued(undefined);
    return PUBLISH_SENT;
  }
  const engine = this._engine;
  if (engine === null && this._features === null) return PUBLISH_REACHED;
  // What send() queued goes out first; shared frames are written by the hub.
  if (engine !== null && engine.hasOutput) this._flush();
  const answer = engineOf(this).admitExternal(frame.length, buffered);
  if (answer === SEND_DEFERRED || answer === SEND_DEFERRED_OVER_HIGH_WATER_MARK) {
    // A message is being compressed: the frame waits behind it, in the engine.
    engineOf(this).sendFrame(frame);
    if (answer !== SEND_DEFERRED) this._needDrain = true;
    this._behind = true;
    this._queued(undefined);
    return PUBLISH_SENT;
  }
  return publishResult(this, answer, data, binary);
};

/** The hub writes this socket's published frames (one Buffer, often shared). */
WebSocket.prototype[kWriteShared] = function writeShared(buf) {
  const socket = this._socket;
  if (socket === null || socket.destroyed) return;
  if (this._needDrain) socket.write(buf, () => checkDrain(this));
  else socket.write(buf);
};

function hubOf(ws) {
  const hub = ws[kHub];
  if (hub === undefined) {
    throw new Error('Topics are for the connections of a WebSocketServer');
  }
  return hub;
}

Object.assign(WebSocket.prototype, {
  /** Subscribes to `topic` (exact match); `true` if it was not subscribed yet. */
  subscribe(topic) {
    const hub = hubOf(this);
    if (this._readyState === CLOSED) return false;
    return hub.subscribe(this, topic);
  },
  /** Leaves `topic`; `true` if it was subscribed. */
  unsubscribe(topic) {
    return hubOf(this).unsubscribe(this, topic);
  },
  isSubscribed(topic) {
    return hubOf(this).isSubscribed(this, topic);
  }
});

Object.defineProperty(WebSocket.prototype, 'topics', {
  /** The topics this connection subscribes to (a new array). */
  get() {
    return this[kHub] === undefined ? [] : this[kHub].topicsOf(this);
  }
});

defineEventTarget(WebSocket.prototype, webSocketEvents, ['open', 'error', 'close', 'message']);

module.exports = WebSocket;

/**
 * Reads the engine's open/closing answer once after each call that may change it
 * (feed, output taken, close, terminate, end, timeout), so `readyState`, which
 * every send reads, costs no native call. The engine decides; this only caches it.
 */
function syncState(ws) {
  ws._engineOpen = ws._engine !== null && ws._engine.state === 0;
}

function engineOf(ws) {
  if (ws._engine === null) {
    const [isServer, options, deflate] = ws._engineArgs;
    ws._engineArgs = null;
    ws._engine = new Engine(isServer, options, deflate);
    ws._engineOpen = true;
  }
  return ws._engine;
}


/** close() or terminate() before the handshake finished: abort it as ws does. */
function abortConnecting(ws) {
  require('./client').abortConnecting(
    ws,
    'WebSocket was closed before the connection was established'
  );
}

const protoPong = WebSocket.prototype.pong;

/**
 * Answers a ping as it is emitted, so the pong follows the replies to earlier
 * messages. An overridden `pong()` is called as ws calls it; the engine counts
 * the pongs either way and says when a peer pings past the bound.
 */
function autoPong(ws, data) {
  const engine = engineOf(ws);
  if (ws.pong === protoPong) {
    if (!engine.answerPing(data)) ws.terminate();
    return;
  }
  if (!engine.beginAutoPong()) {
    ws.terminate();
    return;
  }
  ws.pong(data, !ws._isServer, () => {
    if (ws._engine !== null) ws._engine.autoPongWritten();
  });
}

/** ws `generateMask`: the caller picks masking keys (client only). */
function maskKeyOf(ws) {
  if (ws._generateMask === null || ws._isServer) return undefined;
  const key = Buffer.alloc(4);
  ws._generateMask(key);
  return key;
}

function sendNow(ws, payload, binary, compress, fin, mask, cb) {
  const key = mask ? maskKeyOf(ws) : undefined;
  const answer = engineOf(ws).send(
    payload,
    binary,
    fin,
    compress,
    mask,
    key,
    ws._socket.writableLength
  );
  if (answer === null) {
    ws._queued(cb);
    return true;
  }
  if (answer === SEND_DEFERRED || answer === SEND_DEFERRED_OVER_HIGH_WATER_MARK) {
    // Behind (or into) a compression job off the JS thread.
    ws._behind = true;
    ws._queued(cb);
    startDeflate(ws);
    if (answer === SEND_DEFERRED) return true;
    ws._needDrain = true;
    return false;
  }
  if (answer === SEND_OVER_HIGH_WATER_MARK) {
    // Over the high-water mark: send() says false, 'drain' follows (stream.write()).
    ws._needDrain = true;
    ws._queued(cb);
    return false;
  }
  if (answer.code === BACKPRESSURE_LIMIT) {
    dropped(ws, answer, payload, binary, cb);
    return false;
  }
  syncState(ws);
  throw misuse(answer);
}


/**
 * `maxBackpressure` refused a message: its callback gets the error, the socket emits
 * 'dropped'; with `closeOnBackpressureLimit` the engine has started the close.
 */
function dropped(ws, info, data, binary, cb) {
  syncState(ws);
  if (cb) process.nextTick(cb, droppedError(info));
  process.nextTick(emitDropped, ws, data, binary);
  if (!ws._engineOpen) {
    ws._flush();
    applyLifecycle(ws);
  }
}

function emitDropped(ws, data, binary) {
  ws.emit('dropped', data, binary);
}

/** What a publish did to one subscriber, from the engine's answer. */
function publishResult(ws, answer, data, binary) {
  if (answer === null) return PUBLISH_REACHED;
  if (answer === SEND_OVER_HIGH_WATER_MARK) {
    ws._needDrain = true;
    return PUBLISH_REACHED;
  }
  if (answer === SEND_DEFERRED || answer === SEND_DEFERRED_OVER_HIGH_WATER_MARK) {
    ws._behind = true;
    if (answer !== SEND_DEFERRED) ws._needDrain = true;
    startDeflate(ws);
    return PUBLISH_REACHED;
  }
  if (answer.code === BACKPRESSURE_LIMIT) {
    dropped(ws, answer, data, binary);
    return ws._engineOpen ? PUBLISH_DROPPED : PUBLISH_CLOSED;
  }
  syncState(ws);
  return PUBLISH_SKIPPED;
}

/** 'drain' once everything queued has been written after a send() said false. */
function checkDrain(ws) {
  const socket = ws._socket;
  if (!ws._needDrain || socket === null || socket.destroyed) return;
  if (socket.writableLength !== 0 || (ws._engine !== null && ws._engine.hasOutput)) return;
  ws._needDrain = false;
  ws.emit('drain');
}


function sendFrames(ws, list, cb) {
  if (ws.readyState !== OPEN) {
    ws._sendAfterClose(undefined, cb);
    return;
  }
  const engine = engineOf(ws);
  for (let i = 0; i < list.length; i++) {
    const err = engine.sendFrame(list[i]);
    if (err && err.code === BACKPRESSURE_LIMIT) {
      dropped(ws, err, list[i], true, cb);
      return;
    }
    if (err) throw misuse(err);
    // Each frame is one call for the engine; the callback goes with the last.
    if (ws._behind && i < list.length - 1) ws._queued(null);
  }
  ws._queued(cb);
}

/** The engine has a message to compress: run it on the thread pool (offload.js). */
function startDeflate(ws) {
  if (ws._compressing) return;
  ws._compressing = true;
  runTask(ws, false, onDeflated);
}

/**
 * A message was compressed: the engine frames it and the calls behind it, up to
 * the next large one. As in ws, if the socket was closed meanwhile, the callbacks
 * of everything that waited get "The socket was closed while data was being
 * compressed".
 */
function onDeflated(ws, result) {
  ws._compressing = false;
  const engine = ws._engine;
  const released = result !== null && engine !== null ? engine.finishDeflate(result) : 0;
  const cbs = ws._behindCbs;
  ws._behindCbs = null;
  if (engine === null || ws._socket.destroyed) {
    ws._behind = false;
    failCallbacks(cbs, 0);
    return;
  }
  ws._behind = engine.deferred;
  if (cbs !== null) {
    const n = Math.min(released, cbs.length);
    for (let i = 0; i < n; i++) {
      if (cbs[i] === null) continue;
      if (ws._sendCallbacks === null) ws._sendCallbacks = [cbs[i]];
      else ws._sendCallbacks.push(cbs[i]);
    }
    // Still waiting: behind the next job. Not waiting and not framed: dropped (the
    // connection failed while compressing).
    if (ws._behind) ws._behindCbs = n < cbs.length ? cbs.slice(n) : null;
    else failCallbacks(cbs, n);
  }
  ws._flush();
  applyLifecycle(ws);
  if (ws._behind) startDeflate(ws);
}

function failCallbacks(cbs, from) {
  if (cbs === null) return;
  const err = new Error('The socket was closed while data was being compressed');
  for (let i = from; i < cbs.length; i++) if (cbs[i] !== null) cbs[i](err);
}

/**
 * A received message is to be inflated on the thread pool: the socket is paused
 * meanwhile (ws's receiver pushes back the same way) and the engine keeps what
 * arrives after it.
 */
function startInflate(ws) {
  if (ws._inflating) return;
  ws._inflating = true;
  ws._socket.pause();
  runTask(ws, true, onInflated);
}

function onInflated(ws, result) {
  ws._inflating = false;
  const engine = ws._engine;
  const events = result !== null && engine !== null ? engine.finishInflate(result) : null;
  syncState(ws);
  if (events !== null) ws._dispatch(events, 0, null);
  if (ws._inflating) return;
  if (ws._closeAfterInflate) {
    // The socket closed while inflating: as ws, 'close' follows the messages
    // received before it.
    ws._closeAfterInflate = false;
    closeNow(ws);
    return;
  }
  const socket = ws._socket;
  if (socket[kWebSocket] === undefined || ws.readyState === CLOSED) return;
  if (!ws._paused) socket.resume();
  ws._flush();
  applyLifecycle(ws);
}

/** What the Blob queue needs from its WebSocket (blob-queue.js). */
function blobSink(ws) {
  return {
    // The engine decides (a close queued behind the Blob has not reached it yet).
    canSend: () =>
      ws._socket !== null &&
      ws._socket[kWebSocket] !== undefined &&
      (ws._engine === null || ws._engine.state === 0),
    destroyed: () => ws._socket === null || ws._socket.destroyed,
    send: (data, o) => sendNow(ws, toSendable(data), o.binary, o.compress, o.fin, o.mask, o.cb),
    sendAfterClose: (cb) => ws._sendAfterClose(undefined, cb),
    close: (code, reason) => {
      if (ws._socket === null || ws._socket[kWebSocket] === undefined) return;
      // The queued close reaches the engine: readyState is the engine's answer again
      // (CLOSING from here on); it was held at CLOSING only while the close waited.
      ws._readyState = OPEN;
      const err = engineOf(ws).close(code, reason);
      if (err) throw misuse(err);
      syncState(ws);
      ws._flush();
      applyLifecycle(ws);
    },
    fail: (err) => {
      if (ws.readyState === CLOSED) return;
      if (!ws._errorEmitted) {
        ws._errorEmitted = true;
        ws.emit('error', err);
      }
      if (ws._socket) ws._socket.destroy();
    },
    done: () => {
      ws._blobQueue = null;
    }
  };
}

/**
 * Does what the engine says the socket needs: end it once written, destroy it,
 * or watch its close-timeout deadline (one timer for all connections: deadlines.js).
 */
function applyLifecycle(ws) {
  const engine = ws._engine;
  const socket = ws._socket;
  if (engine === null || socket === null || socket.destroyed) return;
  // Events before a violation or a close frame are still being delivered one per
  // macrotask (see _flush): the socket stays as it is until the last one is out.
  if (ws._holdOutput) return;
  const action = engine.transportAction;
  if (action === 2) {
    socket.destroy();
    return;
  }
  if (action === 1 && !socket.writableEnded) socket.end();
  syncState(ws);
  if (!ws._engineOpen || ws._keepalive) {
    // The close timeout, heartbeat, idle timeout: swept with every other
    // connection's (deadlines.js).
    scheduleDeadline(engine, ws);
  }
}

function scheduleDeadline(engine, ws) {
  const at = engine.pollDeadline(Date.now());
  if (at !== null) deadlines.watch(ws, at, deadlineDue);
}

function deadlineDue(ws) {
  const engine = ws._engine;
  const socket = ws._socket;
  if (engine === null || socket === null || socket.destroyed) return;
  engine.onTimeout(Date.now());
  syncState(ws);
  // A heartbeat ping or the idle timeout's close frame may be queued.
  if (engine.hasOutput && engine.transportAction !== 2) ws._flush();
  applyLifecycle(ws);
}

function flushTick(ws) {
  ws._flushScheduled = false;
  if (ws._socket !== null) ws._flush();
}

function runCallbacks(cbs, err) {
  for (let i = 0; i < cbs.length; i++) cbs[i](err);
}

/**
 * The peer's close frame: the engine owes the echo and writes it with the next
 * output (after replies to earlier messages). The socket is resumed, as in ws, so
 * a paused socket still completes the close.
 */
function onCloseFrame(ws) {
  const socket = ws._socket;
  if (socket[kWebSocket] === undefined) return;
  socket.removeListener('data', socketOnData);
  process.nextTick(resumeStream, socket);
  ws._flush();
  applyLifecycle(ws);
}

/** A protocol violation: the engine owes the close frame with the error's code. */
function onProtocolError(ws, info) {
  const err = fromCore(info);
  const socket = ws._socket;
  if (socket[kWebSocket] !== undefined) {
    socket.removeListener('data', socketOnData);
    process.nextTick(resumeStream, socket);
    ws._flush();
    applyLifecycle(ws);
  }
  if (!ws._errorEmitted) {
    ws._errorEmitted = true;
    process.nextTick(emitError, ws, err);
  }
}

function emitError(ws, err) {
  ws.emit('error', err);
}

/** The kind of the last event of a chunk's flat event list (see engine.rs), from `i`. */
function lastKind(events, i) {
  let kind = 0;
  while (i < events.length) {
    kind = events[i];
    i += kind === EV_TEXT_AT || kind === EV_BINARY_AT ? 3 : kind === EV_CLOSE ? 1 : 2;
  }
  return kind;
}

function resumeStream(stream) {
  stream.resume();
}

function resumeDeferred(ws) {
  const { events, i, chunk } = ws._deferred;
  ws._deferred = null;
  if (ws.readyState === CLOSED) return;
  ws._dispatch(events, i, chunk);
  while (ws._deferred === null && ws._deferredChunks !== null && ws._deferredChunks.length) {
    feedChunk(ws, ws._deferredChunks.shift());
  }
  if (ws._deferredChunks !== null && ws._deferredChunks.length === 0) ws._deferredChunks = null;
  if (ws._socket !== null && ws.readyState !== CLOSED) ws._flush();
}

function socketOnData(chunk) {
  const ws = this[kWebSocket];
  if (ws._deferred !== null) {
    if (ws._deferredChunks === null) ws._deferredChunks = [chunk];
    else ws._deferredChunks.push(chunk);
    return;
  }
  feedChunk(ws, chunk);
  if (ws._socket !== null && ws.readyState !== CLOSED) ws._flush();
}

/** One napi call for the whole chunk, then its events in order. */
function feedChunk(ws, chunk) {
  const events = engineOf(ws).feed(chunk);
  syncState(ws);
  if (events !== null) ws._dispatch(events, 0, chunk);
}

function socketOnClose() {
  const ws = this[kWebSocket];
  this.removeListener('close', socketOnClose);
  this.removeListener('data', socketOnData);
  this.removeListener('end', socketOnEnd);

  // Bytes still buffered in a paused socket: give them to the engine (which
  // ignores them after a close frame or a violation).
  if (!this._readableState.endEmitted && this._readableState.length !== 0) {
    const chunk = this.read(this._readableState.length);
    if (chunk) feedChunk(ws, chunk);
  }
  this[kWebSocket] = undefined;
  deadlines.unwatch(ws);
  if (ws._inflating) {
    ws._closeAfterInflate = true;
    return;
  }
  closeNow(ws);
}

function closeNow(ws) {
  if (ws[kHub] !== undefined) ws[kHub].remove(ws);
  // The transport is gone: whatever the engine thought, nothing more is sent.
  if (ws._engine !== null) ws._engine.terminate();
  ws.emitClose();
}

function socketOnEnd() {
  const ws = this[kWebSocket];
  engineOf(ws).peerEnded();
  syncState(ws);
  ws._flush();
  applyLifecycle(ws);
}

function socketOnError() {
  const ws = this[kWebSocket];
  this.removeListener('error', socketOnError);
  this.on('error', NOOP);
  if (ws) {
    engineOf(ws).terminate();
    syncState(ws);
    this.destroy();
  }
}
