'use strict';

// ws's `Receiver`: a Writable that parses the frames written to it and emits
// 'message', 'ping', 'pong' and 'conclude'. The parsing is the core's reader, through
// an Engine (one napi call per written chunk), the same one every WebSocket uses; a
// violation fails the write with ws's error (and its close code).

const { Writable } = require('stream');

const { Engine } = require('./binding');
const constants = require('./constants');
const { fromCore } = require('./errors');
const { toBinaryType } = require('./binary-type');
const PerMessageDeflate = require('./permessage-deflate');

class Receiver extends Writable {
  /**
   * @param {Object} [options] ws's: `allowSynchronousEvents` (true), `binaryType`
   *   ('nodebuffer'), `extensions` ({ 'permessage-deflate': PerMessageDeflate }),
   *   `isServer` (false), `maxBufferedChunks`, `maxFragments`, `maxPayload` (0 = no
   *   limit), `skipUTF8Validation` (false)
   */
  constructor(options = {}) {
    super();

    this._allowSynchronousEvents =
      options.allowSynchronousEvents !== undefined ? options.allowSynchronousEvents : true;
    this._binaryType = options.binaryType || constants.BINARY_TYPES[0];
    this._extensions = options.extensions || {};
    this._isServer = !!options.isServer;
    this._maxBufferedChunks = options.maxBufferedChunks | 0;
    this._maxFragments = options.maxFragments | 0;
    this._maxPayload = options.maxPayload | 0;
    this._skipUTF8Validation = !!options.skipUTF8Validation;
    this[constants.kWebSocket] = undefined;

    const pmd = this._extensions[PerMessageDeflate.extensionName];
    const deflate = pmd && typeof pmd._engineHandle === 'function' ? pmd._engineHandle() : null;
    this._engine = new Engine(
      this._isServer,
      {
        maxPayload: this._maxPayload,
        maxFragments: this._maxFragments,
        maxBufferedChunks: this._maxBufferedChunks,
        skipUtf8Validation: this._skipUTF8Validation
      },
      deflate
    );
    this._concluded = false;
  }

  _write(chunk, encoding, cb) {
    if (this._concluded) {
      cb();
      return;
    }
    const events = this._engine.feed(chunk);
    // Whatever the engine would answer (a close echo, a pong) is not this class's to send.
    this._engine.takeOutput();
    if (events === null) {
      cb();
      return;
    }
    this._emitFrom(events, 0, chunk, null, cb);
  }

  /** Emits the events of one chunk from `i`; `cb` once all are out (or at an error). */
  _emitFrom(events, i, chunk, ends, cb) {
    const n = events.length;
    while (i < n) {
      const kind = events[i];
      let name;
      let args;
      if (kind === constants.EV_FRAME_ENDS) {
        ends = events[i + 1];
        i += 2;
        continue;
      } else if (kind === constants.EV_BINARY_AT || kind === constants.EV_TEXT_AT) {
        const data = chunk.subarray(events[i + 1], events[i + 2]);
        const binary = kind === constants.EV_BINARY_AT;
        name = 'message';
        args = [binary ? toBinaryType(data, this._binaryType, ends) : data, binary];
        i += 3;
      } else if (kind === constants.EV_BINARY || kind === constants.EV_TEXT) {
        const binary = kind === constants.EV_BINARY;
        const data = events[i + 1];
        name = 'message';
        args = [binary ? toBinaryType(data, this._binaryType, ends) : data, binary];
        i += 2;
      } else if (kind === constants.EV_PING || kind === constants.EV_PONG) {
        name = kind === constants.EV_PING ? 'ping' : 'pong';
        args = [events[i + 1]];
        i += 2;
      } else if (kind === constants.EV_CLOSE) {
        this._concluded = true;
        this.emit('conclude', this._engine.closeCode, this._engine.closeReason());
        this.end();
        cb();
        return;
      } else if (kind === constants.EV_ERROR) {
        cb(fromCore(events[i + 1], this._write));
        return;
      } else {
        i += 1;
        continue;
      }
      ends = null;
      if (this._allowSynchronousEvents) {
        this.emit(name, ...args);
      } else {
        // One message, ping or pong per macrotask, as ws.
        setImmediate(() => {
          this.emit(name, ...args);
          this._emitFrom(events, i, chunk, null, cb);
        });
        return;
      }
    }
    cb();
  }
}

module.exports = Receiver;
