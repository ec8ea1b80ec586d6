'use strict';

// Pub/sub for one WebSocketServer: the topic table is the core's (TopicTable), the
// connections are numbered here, and a published message is framed once and the
// same Buffer written to every subscriber; an adapter (redis-adapter.js) carries
// publishes to the other processes.
//
// Writes are corked per tick: the frames published in one synchronous run are kept
// in order (a "tick batch"), each subscriber notes which of them it takes, and at the
// end of the run every subscriber gets one write — the same concatenated Buffer for
// all that took the same run of frames (the common case: one topic). A socket that
// sends meanwhile writes its published frames first (WebSocket#_flush), so the order
// between send() and publish() is kept per socket.
//
// Adapter interface (all an adapter needs, all a hub needs of it):
//   adapter.attach(hub)         hub.deliver(topic, data, binary) delivers a remote publish
//   adapter.subscribe(topic)    the first local subscriber of `topic` arrived
//   adapter.unsubscribe(topic)  its last local subscriber left
//   adapter.publish(topic, data, binary)
//   adapter.close()             the server closes

const { TopicTable, encodeFrame } = require('./binding');
const { toSendable } = require('./data');
const { fromCore } = require('./errors');
const {
  kPublish,
  kShared,
  kWriteShared,
  PUBLISH_REACHED,
  PUBLISH_SENT,
  PUBLISH_DROPPED,
  PUBLISH_CLOSED
} = require('./constants');

const kTopicId = Symbol('topic-id');
let publishSeq = 0;

function checkTopic(topic) {
  if (typeof topic !== 'string') {
    throw new TypeError('The "topic" argument must be a string');
  }
}

class TopicHub {
  constructor(adapter) {
    this._table = new TopicTable();
    this._members = [null]; // id -> WebSocket (0 is never used)
    this._freeIds = [];
    this._adapter = adapter || null;
    if (this._adapter !== null) this._adapter.attach(this);
    this._tick = null;
  }

  _id(ws, create) {
    let id = ws[kTopicId];
    if (id === undefined && create) {
      id = this._freeIds.length ? this._freeIds.pop() : this._members.length;
      this._members[id] = ws;
      ws[kTopicId] = id;
    }
    return id;
  }

  subscribe(ws, topic) {
    checkTopic(topic);
    const answer = this._table.subscribe(this._id(ws, true), topic);
    if (answer === 2 && this._adapter !== null) this._adapter.subscribe(topic);
    return answer !== 0;
  }

  unsubscribe(ws, topic) {
    checkTopic(topic);
    const id = this._id(ws, false);
    if (id === undefined) return false;
    const answer = this._table.unsubscribe(id, topic);
    if (answer === 2 && this._adapter !== null) this._adapter.unsubscribe(topic);
    return answer !== 0;
  }

  isSubscribed(ws, topic) {
    checkTopic(topic);
    const id = this._id(ws, false);
    return id !== undefined && this._table.isSubscribed(id, topic);
  }

  topicsOf(ws) {
    const id = this._id(ws, false);
    return id === undefined ? [] : this._table.topicsOf(id);
  }

  /** The connection closed: it leaves every topic. */
  remove(ws) {
    const id = this._id(ws, false);
    if (id === undefined) return;
    const emptied = this._table.remove(id);
    this._members[id] = null;
    this._freeIds.push(id);
    ws[kTopicId] = undefined;
    ws[kShared] = null;
    if (this._adapter !== null) {
      for (const topic of emptied) this._adapter.unsubscribe(topic);
    }
  }

  subscribers(topic) {
    checkTopic(topic);
    const ids = this._table.subscribers(topic);
    const out = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = this._members[ids[i]];
    return out;
  }

  /**
   * Publishes to the local subscribers and, through the adapter, to the other
   * processes' subscribers.
   *
   * @return {{ reached: number, dropped: number, closed: number }} local counts
   */
  publish(topic, data, options) {
    checkTopic(topic);
    let binary;
    let compress = false;
    let except = null;
    if (options !== undefined && options !== null) {
      if (typeof options !== 'object') {
        throw new TypeError('The "options" argument must be an object');
      }
      binary = options.binary;
      compress = !!options.compress;
      except = options.except || null;
    }
    if (typeof data === 'number') data = data.toString();
    const payload = data ? toSendable(data) : Buffer.alloc(0);
    if (binary === undefined) binary = typeof data !== 'string';
    binary = !!binary;
    const counts = this._deliver(topic, payload, binary, compress, except);
    if (this._adapter !== null) {
      this._adapter.publish(topic, Buffer.isBuffer(payload) ? payload : Buffer.from(payload), binary);
    }
    return counts;
  }

  /** A publish from another process (the adapter): local subscribers only. */
  deliver(topic, data, binary) {
    return this._deliver(topic, data, binary, false, null);
  }

  _deliver(topic, payload, binary, compress, except) {
    const counts = { reached: 0, dropped: 0, closed: 0 };
    const ids = this._table.subscribers(topic);
    if (ids.length === 0) return counts;
    // Framed once: every subscriber's socket is handed the same bytes.
    const frame = encodeFrame(payload, binary ? 2 : 1, true, false, undefined);
    if (!Buffer.isBuffer(frame)) throw fromCore(frame);
    let tick = this._tick;
    if (tick === null) {
      tick = this._tick = { frames: [], joined: new Map() };
      process.nextTick(endTick, this, tick);
    }
    const index = tick.frames.length;
    tick.frames.push(frame);
    // Names this publish for transports that share one copy of the frame among its
    // subscribers (the native one).
    const seq = ++publishSeq;
    // Transports that queue a publish's subscribers together (the native one: its
    // kPublish answers with the batch, ended once every subscriber was handed over).
    let batches = null;
    for (let i = 0; i < ids.length; i++) {
      const ws = this._members[ids[i]];
      if (ws === null || ws === except) continue;
      const pending = ws[kShared];
      const result = ws[kPublish](frame, pending === null ? 0 : pending.bytes, payload, binary, compress, seq);
      if (result === PUBLISH_REACHED) {
        counts.reached++;
        take(ws, tick, index, frame);
      } else if (result === PUBLISH_SENT) counts.reached++;
      else if (result === PUBLISH_DROPPED) counts.dropped++;
      else if (result === PUBLISH_CLOSED) {
        counts.dropped++;
        counts.closed++;
      } else if (result !== null && typeof result === 'object') {
        // Counted as reached; the batch's end corrects the counts of refusals.
        counts.reached++;
        if (batches === null) batches = [result];
        else if (!batches.includes(result)) batches.push(result);
      }
    }
    if (batches !== null) for (let i = 0; i < batches.length; i++) batches[i].end(counts);
    return counts;
  }

  /** Writes the published frames `ws` is waiting for (before it writes anything else). */
  writeShared(ws) {
    const pending = ws[kShared];
    if (pending === null) return;
    ws[kShared] = null;
    ws[kWriteShared](bytesOf(pending));
  }

  close() {
    if (this._adapter !== null) this._adapter.close();
  }
}

/** `ws` takes frame `index` of the tick batch. */
function take(ws, tick, index, frame) {
  const pending = ws[kShared];
  if (pending === null || pending.tick !== tick) {
    if (pending !== null) ws[kWriteShared](bytesOf(pending)); // from an earlier batch
    ws[kShared] = { tick, first: index, last: index, list: null, bytes: frame.length };
    if (tick.waiting === undefined) tick.waiting = [ws];
    else tick.waiting.push(ws);
    return;
  }
  pending.bytes += frame.length;
  if (pending.list === null && pending.last === index - 1) {
    pending.last = index;
  } else {
    // Not a contiguous run of the batch (another topic in between): its own list.
    if (pending.list === null) pending.list = tick.frames.slice(pending.first, pending.last + 1);
    pending.list.push(frame);
  }
}

/** The bytes of what a subscriber waits for; runs of the batch are joined once. */
function bytesOf(pending) {
  if (pending.list !== null) return Buffer.concat(pending.list, pending.bytes);
  const { tick, first, last } = pending;
  if (first === last) return tick.frames[first];
  const key = first * 0x100000 + last;
  let joined = tick.joined.get(key);
  if (joined === undefined) {
    joined = Buffer.concat(tick.frames.slice(first, last + 1), pending.bytes);
    tick.joined.set(key, joined);
  }
  return joined;
}

function endTick(hub, tick) {
  if (hub._tick === tick) hub._tick = null;
  const waiting = tick.waiting;
  if (waiting === undefined) return;
  for (let i = 0; i < waiting.length; i++) {
    const ws = waiting[i];
    const pending = ws[kShared];
    if (pending !== null && pending.tick === tick) hub.writeShared(ws);
  }
}

module.exports = { TopicHub };
