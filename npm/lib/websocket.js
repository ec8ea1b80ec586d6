'use strict';

// The ws-compatible WebSocket around the core's Engine. The engine decides the
// connection's lifecycle (close handshake, pongs and their bound, close timeout,
// when the socket is ended or destroyed); this file moves bytes and emits events.
// Each received chunk goes to the engine in one call; the events it returns are
// emitted in order; outgoing frames come back from the engine ready to write and
// are written once per flush (at the end of a chunk's events or on the next tick).

const EventEmitter = require('events');

const { Engine, checkClose } = require('./binding');
const {
  BINARY_TYPES,
  EMPTY_BUFFER,
  READY_STATES,
  kWebSocket,
  kWasClean,
  kSetUrl,
  kFailHandshake,
  kHandshakeAborting,
  NOOP,
  EV_TEXT,
  EV_BINARY,
  EV_PING,
  EV_PONG,
  EV_CLOSE,
  EV_ERROR,
  EV_TEXT_AT,
  EV_BINARY_AT,
  EV_FRAME_ENDS
} = require('./constants');
const { fromCore, misuse } = require('./errors');
const { defineEventTarget, webSocketEvents } = require('./event-target');
const { toSendable, isBlob, byteLength } = require('./data');
const { enqueueBlob, enqueueClose } = require('./blob-queue');
const { toBinaryType } = require('./binary-type');
const deadlines = require('./deadlines');

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
    if (this._engine !== null && !this._socket.destroyed && this._engine.hasOutput) {
      this._flush();
    }
    return (
      this._socket.writableLength +
      this._closedBytes +
      (this._blobQueue ? this._blobQueue.bytes : 0)
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
      {
        maxPayload: options.maxPayload,
        maxFragments: options.maxFragments,
        maxBufferedChunks: options.maxBufferedChunks,
        skipUtf8Validation: !!options.skipUTF8Validation,
        threshold: options.threshold,
        closeTimeout: options.closeTimeout,
        maxPendingAutoPongs: options.maxPendingAutoPongs
      },
      options.deflate || null
    ];
    this._generateMask = options.generateMask || null;
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
        const bad = checkClose(closeCodeArg(code), reason);
        if (bad) throw misuse(bad);
        this._readyState = CLOSING;
        enqueueClose(this._blobQueue, closeCodeArg(code), reason);
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
      return;
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
      return;
    }

    sendNow(this, toSendable(data), binary, compress, fin, mask, cb);
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
    const out = this._engine === null ? null : this._engine.takeOutput();
    if (out !== null) syncState(this);
    let cbs = this._sendCallbacks;
    this._sendCallbacks = null;
    if (cb) {
      if (cbs === null) cbs = [cb];
      else cbs.push(cb);
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

function closeCodeArg(code) {
  if (code === undefined) return undefined;
  // Anything that is not an integer is an invalid code: let the core reject it.
  return typeof code === 'number' && Number.isInteger(code) && code >= 0
    ? Math.min(code, 0xffffffff)
    : 0;
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
  const err = engineOf(ws).send(payload, binary, fin, compress, mask, key);
  if (err) {
    syncState(ws);
    throw misuse(err);
  }
  ws._queued(cb);
}

function sendFrames(ws, list, cb) {
  if (ws.readyState !== OPEN) {
    ws._sendAfterClose(undefined, cb);
    return;
  }
  const engine = engineOf(ws);
  for (let i = 0; i < list.length; i++) {
    const err = engine.sendFrame(list[i]);
    if (err) throw misuse(err);
  }
  ws._queued(cb);
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
  if (!ws._engineOpen) {
    // The close timeout, swept with every other connection's (deadlines.js).
    const at = engine.pollDeadline(Date.now());
    if (at !== null) deadlines.watch(ws, at, closeTimerFired);
  }
}

function closeTimerFired(ws) {
  if (ws._engine === null) return;
  ws._engine.onTimeout(Date.now());
  syncState(ws);
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
  // The transport is gone: whatever the engine thought, nothing more is sent.
  if (ws._engine !== null) ws._engine.terminate();

  this[kWebSocket] = undefined;
  deadlines.unwatch(ws);
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
