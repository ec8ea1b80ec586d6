'use strict';

// ws's `Sender`: frames data for a socket. The framing itself is the core's
// (`encodeFrame`); `Sender.frame()` is what socket.io uses to frame a broadcast
// once, and a WebSocket's `_sender.sendFrame()` queues such frames in order with
// its other sends (see websocket.js).

const { randomFillSync } = require('crypto');

const { encodeFrame } = require('./binding');
const { fromCore } = require('./errors');
const { toSendable } = require('./data');

const EMPTY = Buffer.alloc(0);

function maskKey(options) {
  const key = options.maskBuffer || Buffer.alloc(4);
  if (options.generateMask) options.generateMask(key);
  else randomFillSync(key, 0, 4);
  return key;
}

class Sender {
  /**
   * A framing writer for a raw stream (server side unless `mask` is asked for).
   * Messages are sent uncompressed: compression belongs to a WebSocket's engine.
   *
   * @param {Duplex} socket
   * @param {Object} [extensions] ignored (no compression here)
   * @param {Function} [generateMask]
   */
  constructor(socket, extensions, generateMask) {
    this._socket = socket;
    this._generateMask = generateMask;
  }

  /**
   * Frames `data` (ws 8 `Sender.frame`). Returns the frame as a list of Buffers.
   *
   * @param {(Buffer|String)} data
   * @param {{ fin: boolean, rsv1: boolean, opcode: number, mask: boolean,
   *   maskBuffer?: Buffer, generateMask?: Function, readOnly?: boolean }} options
   * @return {Buffer[]}
   */
  static frame(data, options) {
    const key = options.mask ? maskKey(options) : undefined;
    const out = encodeFrame(
      typeof data === 'string' ? data : toSendable(data),
      options.opcode,
      !!options.fin,
      !!options.rsv1,
      key
    );
    if (!Buffer.isBuffer(out)) throw fromCore(out);
    return [out];
  }

  /** Writes frames made by `Sender.frame()`. */
  sendFrame(list, cb) {
    const socket = this._socket;
    if (list.length === 1) {
      socket.write(list[0], cb);
      return;
    }
    socket.cork();
    for (let i = 0; i < list.length - 1; i++) socket.write(list[i]);
    socket.write(list[list.length - 1], cb);
    socket.uncork();
  }

  _frame(data, opcode, fin, mask) {
    return Sender.frame(data, { opcode, fin, rsv1: false, mask, generateMask: this._generateMask });
  }

  send(data, options, cb) {
    const binary = options.binary !== undefined ? options.binary : typeof data !== 'string';
    const fin = options.fin !== undefined ? options.fin : true;
    this.sendFrame(this._frame(data, binary ? 2 : 1, fin, !!options.mask), cb);
  }

  ping(data, mask, cb) {
    this.sendFrame(this._frame(data || EMPTY, 9, true, !!mask), cb);
  }

  pong(data, mask, cb) {
    this.sendFrame(this._frame(data || EMPTY, 10, true, !!mask), cb);
  }

}

module.exports = Sender;
