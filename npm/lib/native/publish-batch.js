'use strict';

// One publish's subscribers on one native transport: pubsub.js hands each of them to
// `collect` (through the socket's kPublish) and ends the publish with `end(counts)`;
// the frame made once is then queued on all of them by one native call
// (`NativeServer#publishTo`), instead of one call per subscriber.

const { PUBLISH_SENT, PUBLISH_DROPPED, PUBLISH_CLOSED } = require('../constants');

class PublishBatch {
  /**
   * @param {Object} transport the native transport (`native`, `scheduleFlush`)
   * @param {number} seq the publish's sequence number (pubsub.js)
   * @param {Buffer} frame the frame made once
   * @param {*} data the payload (for a 'dropped' event)
   * @param {boolean} binary
   * @param {Function} answer `(ws, answer, data, binary)` → a PUBLISH_* code
   */
  constructor(transport, seq, frame, data, binary, answer) {
    this.transport = transport;
    this.seq = seq;
    this.frame = frame;
    this.data = data;
    this.binary = binary;
    this.answer = answer;
    this.sockets = [];
    this.ids = [];
    this.queued = false;
    // What the subscribers' answers change in the publish's counts (all were counted
    // as reached when collected).
    this.reached = 0;
    this.dropped = 0;
    this.closed = 0;
  }

  collect(ws) {
    this.sockets.push(ws);
    this.ids.push(ws._id);
  }

  /** Queues the frame on every subscriber collected (once). */
  queue() {
    if (this.queued) return;
    this.queued = true;
    const { transport } = this;
    if (transport.publishing === this) transport.publishing = null;
    if (transport.native === null) {
      // The server was destroyed meanwhile (from a listener): nobody took it.
      this.reached -= this.ids.length;
      return;
    }
    const answers = transport.native.publishTo(Float64Array.from(this.ids), this.frame);
    transport.scheduleFlush();
    if (answers === null) return;
    for (const { index, status, error } of answers) {
      const ws = this.sockets[index];
      const code = this.answer(ws, error != null ? error : status, this.data, this.binary);
      if (code === PUBLISH_SENT) continue;
      this.reached--;
      if (code === PUBLISH_DROPPED || code === PUBLISH_CLOSED) this.dropped++;
      if (code === PUBLISH_CLOSED) this.closed++;
    }
  }

  /** The end of the publish: queued, and its answers counted into `counts`. */
  end(counts) {
    this.queue();
    counts.reached += this.reached;
    counts.dropped += this.dropped;
    counts.closed += this.closed;
  }
}

module.exports = PublishBatch;
