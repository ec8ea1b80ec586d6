'use strict';

// `ws._socket` (and `req.socket`) of a native connection: what code commonly reads
// from a net.Socket. Addresses are read once, on first use; byte counts are live.
// It emits 'finish' and 'close' when the connection is closed (code that waits for
// ws's socket to finish, as createWebSocketStream does, works the same). The socket a
// 'wsClientError' listener gets (`raw`) writes the listener's bytes as they are, as
// the HTTP answer of a refused upgrade.

const EventEmitter = require('events');

class NativeSocket extends EventEmitter {
  /**
   * @param {import('./transport')} transport
   * @param {number} id
   * @param {boolean} [raw] the connection is a refused upgrade answered by the caller
   */
  constructor(transport, id, raw = false) {
    super();
    this._transport = transport;
    this._id = id;
    this._raw = raw;
    this._peer = undefined;
    this._final = null;
    this._userDestroyed = false;
  }

  get remoteAddress() {
    const p = this._addresses();
    return p ? p.remoteAddress : undefined;
  }

  get remotePort() {
    const p = this._addresses();
    return p ? p.remotePort : undefined;
  }

  get remoteFamily() {
    const p = this._addresses();
    return p ? p.remoteFamily : undefined;
  }

  get localAddress() {
    const p = this._addresses();
    return p ? p.localAddress : undefined;
  }

  get localPort() {
    const p = this._addresses();
    return p ? p.localPort : undefined;
  }

  get bytesRead() {
    return this._counts().bytesRead;
  }

  get bytesWritten() {
    return this._counts().bytesWritten;
  }

  get encrypted() {
    return false;
  }

  /** Our side of the connection is finished (it is closed). */
  get writableFinished() {
    return this._final !== null;
  }

  /** `destroy()` was called, or the connection is closed (as `net.Socket#destroyed`). */
  get destroyed() {
    return this._userDestroyed || this._final !== null;
  }

  /** @private */
  _addresses() {
    if (this._peer === undefined) this._peer = this._transport.native.peer(this._id);
    return this._peer;
  }

  /** @private */
  _counts() {
    if (this._final !== null) return this._final;
    const now = this._transport.native.peer(this._id);
    return now != null ? now : { bytesRead: 0, bytesWritten: 0 };
  }

  /** The connection closed: its final counts. @private */
  _onClosed(bytesRead, bytesWritten) {
    this._final = { bytesRead, bytesWritten };
    this.emit('finish');
    this.emit('close', false);
  }

  setNoDelay(noDelay) {
    this._transport.native.setNoDelay(this._id, noDelay !== false);
    return this;
  }

  setKeepAlive(enable, initialDelay) {
    const delay = typeof initialDelay === 'number' ? initialDelay : 0;
    this._transport.native.setKeepAlive(this._id, !!enable, delay);
    return this;
  }

  /**
   * `socket.write()`: the bytes go out as they are (whole frames: what code writing
   * to `ws._socket` sends), in order with the WebSocket's own sends.
   */
  write(data, encoding, cb) {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    const bytes = typeof data === 'string' ? Buffer.from(data, encoding) : data;
    if (this._raw) {
      const ok = this._transport.native.writeRaw(this._id, bytes);
      this._transport.scheduleFlush();
      if (cb) process.nextTick(cb, ok ? null : streamEnded());
      return ok;
    }
    const ws = this._transport.sockets.get(this._id);
    const answer =
      ws === undefined
        ? { message: 'write after end' }
        : this._transport.native.sendFrame(this._id, bytes);
    if (answer === null || typeof answer === 'number') {
      ws._queued(cb);
      return answer === null;
    }
    // Not open any more (closed, or our close frame is queued): as a destroyed socket.
    const err = new Error(answer.message);
    err.code = 'ERR_STREAM_DESTROYED';
    if (cb) process.nextTick(cb, err);
    return false;
  }

  destroy() {
    // Sends after this fail as writes to a destroyed net.Socket do (ws's sends do).
    this._userDestroyed = true;
    this._transport.native.destroyConnection(this._id);
    this._transport.scheduleFlush();
    return this;
  }

  /** Stops reading (the kernel buffers meanwhile), as `net.Socket#pause`. */
  pause() {
    this._transport.native.setPaused(this._id, true);
    return this;
  }

  /** Reads again, as `net.Socket#resume`. */
  resume() {
    this._transport.native.setPaused(this._id, false);
    return this;
  }

  end(data, encoding, cb) {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this._raw && data != null) this.write(data, encoding);
    if (cb) this.once('finish', cb);
    this._transport.native.end(this._id);
    this._transport.scheduleFlush();
    return this;
  }
}

/** Node's error for a write after `end()`. */
function streamEnded() {
  const err = new Error('write after end');
  err.code = 'ERR_STREAM_WRITE_AFTER_END';
  return err;
}

module.exports = NativeSocket;
