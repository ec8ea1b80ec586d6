'use strict';

// Scale-out for pub/sub: WebSocketServers in several processes (or machines) share
// their topics through Redis pub/sub. Each process publishes every wss.publish() to
// the topic's Redis channel and subscribes to a channel only while it has local
// subscribers of the topic; what arrives from the other processes is delivered to
// the local subscribers (its own publishes, already delivered, are skipped by id).
//
// Guarantees, as Redis pub/sub gives them: at most once (a message published while
// Redis or the link to it is down is lost, never replayed); in order per publishing
// process (one connection publishes, Redis keeps its order). Uses the `redis` package
// (node-redis), an optional dependency: `npm install redis`.

const { randomBytes } = require('crypto');
const EventEmitter = require('events');

const VERSION = 1;
const FLAG_BINARY = 1;
const ID_BYTES = 8;
const HEADER = 2 + ID_BYTES;

function loadRedis() {
  try {
    return require('redis');
  } catch (err) {
    const e = new Error(
      'createRedisAdapter() needs the "redis" package (node-redis): npm install redis'
    );
    e.code = 'ERR_WS_REDIS_MISSING';
    e.cause = err;
    throw e;
  }
}

class RedisAdapter extends EventEmitter {
  /**
   * @param {Object} options
   * @param {string} [options.url] redis:// URL (default redis://127.0.0.1:6379)
   * @param {Object} [options.client] a node-redis client to use instead (not connected
   *   or connected; the adapter duplicates it for its subscriber connection)
   * @param {string} [options.prefix] channel prefix (default 'ferrosocket:')
   * @param {(boolean|'auto')} [options.sharded] sharded pub/sub (SPUBLISH/SSUBSCRIBE,
   *   Redis 7+); 'auto' (default) uses it when the server has it
   * @param {number} [options.reconnectDelay] ms between reconnection attempts (max)
   */
  constructor(options = {}) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new TypeError('The "options" argument must be an object');
    }
    const { createClient } = options.client ? { createClient: null } : loadRedis();
    const maxDelay = options.reconnectDelay === undefined ? 1000 : options.reconnectDelay;
    if (typeof maxDelay !== 'number' || !(maxDelay > 0)) {
      throw new TypeError('The "reconnectDelay" option must be a positive number');
    }
    const clientOptions = {
      url: options.url || 'redis://127.0.0.1:6379',
      socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, maxDelay) }
    };
    // Publishes fail at once while Redis is away (at-most-once) instead of piling up.
    this._pub = options.client
      ? options.client.duplicate({ disableOfflineQueue: true })
      : createClient({ ...clientOptions, disableOfflineQueue: true });
    this._sub = options.client ? options.client.duplicate() : createClient(clientOptions);
    this._prefix = options.prefix === undefined ? 'ferrosocket:' : String(options.prefix);
    this._shardedOption = options.sharded === undefined ? 'auto' : options.sharded;
    this._sharded = false;
    this._id = randomBytes(ID_BYTES);
    this._hub = null;
    this._topics = new Set();
    this._listeners = new Map(); // topic -> listener
    this._closed = false;
    this._downSince = 0;
    this._up = { pub: false, sub: false };
    this.stats = { published: 0, received: 0, lost: 0, outages: 0 };

    for (const [name, client] of [
      ['pub', this._pub],
      ['sub', this._sub]
    ]) {
      client.on('error', (err) => this._down(name, err));
      client.on('end', () => this._down(name, null));
      client.on('ready', () => this._ready(name));
    }
    this.ready = this._connect();
    // Awaiting `ready` is optional: a first connection that fails is retried, and
    // reported with 'down'/'up', not as an unhandled rejection.
    this.ready.catch(NOOP);
  }

  async _connect() {
    await Promise.all([this._pub.connect(), this._sub.connect()]);
    if (this._shardedOption === 'auto') {
      const info = await this._pub.info('server');
      const m = /redis_version:(\d+)/.exec(info);
      this._sharded = m !== null && Number(m[1]) >= 7;
    } else {
      this._sharded = !!this._shardedOption;
    }
    // Topics that got subscribers before the connection was up.
    await Promise.all([...this._topics].map((t) => this._listen(t)));
    return this;
  }

  _down(name, err) {
    if (this._closed) return;
    const wasUp = this._up.pub && this._up.sub;
    this._up[name] = false;
    if (wasUp) {
      this._downSince = Date.now();
      this.stats.outages++;
      this.emit('down', { error: err || new Error('The connection to Redis closed') });
    }
  }

  _ready(name) {
    this._up[name] = true;
    if (this._downSince !== 0 && this._up.pub && this._up.sub) {
      const duration = Date.now() - this._downSince;
      this._downSince = 0;
      // node-redis subscribes its listeners again on the new connection.
      this.emit('up', { duration });
    }
  }

  /** Whether both connections to Redis are up. */
  get connected() {
    return this._up.pub && this._up.sub;
  }

  attach(hub) {
    if (this._hub !== null && this._hub !== hub) {
      throw new Error('A Redis adapter serves one WebSocketServer');
    }
    this._hub = hub;
  }

  subscribe(topic) {
    this._topics.add(topic);
    if (this._sub.isReady && !this._listeners.has(topic)) this._listen(topic).catch(NOOP);
  }

  unsubscribe(topic) {
    this._topics.delete(topic);
    const listener = this._listeners.get(topic);
    if (listener === undefined) return;
    this._listeners.delete(topic);
    const channel = this._prefix + topic;
    const done = this._sharded
      ? this._sub.sUnsubscribe(channel, listener, true)
      : this._sub.unsubscribe(channel, listener, true);
    done.catch(NOOP);
  }

  _listen(topic) {
    if (this._listeners.has(topic) || this._closed) return Promise.resolve();
    const listener = (message) => this._onMessage(topic, message);
    this._listeners.set(topic, listener);
    const channel = this._prefix + topic;
    return this._sharded
      ? this._sub.sSubscribe(channel, listener, true)
      : this._sub.subscribe(channel, listener, true);
  }

  _onMessage(topic, message) {
    if (this._hub === null || !Buffer.isBuffer(message) || message.length < HEADER) return;
    if (message[0] !== VERSION) return;
    if (message.compare(this._id, 0, ID_BYTES, 2, HEADER) === 0) return; // our own
    this.stats.received++;
    const binary = (message[1] & FLAG_BINARY) !== 0;
    this._hub.deliver(topic, message.subarray(HEADER), binary);
  }

  publish(topic, data, binary) {
    if (this._closed) return;
    if (!this.connected) {
      this.stats.lost++;
      return;
    }
    const message = Buffer.allocUnsafe(HEADER + data.length);
    message[0] = VERSION;
    message[1] = binary ? FLAG_BINARY : 0;
    this._id.copy(message, 2);
    data.copy(message, HEADER);
    const channel = this._prefix + topic;
    const sent = this._sharded
      ? this._pub.sPublish(channel, message)
      : this._pub.publish(channel, message);
    this.stats.published++;
    sent.catch(() => {
      this.stats.published--;
      this.stats.lost++;
    });
  }

  /** Disconnects from Redis (the server calls it when it closes). */
  close() {
    if (this._closed) return;
    this._closed = true;
    for (const client of [this._pub, this._sub]) {
      if (client.isOpen) client.close().catch(() => destroy(client));
      else destroy(client);
    }
  }
}

function NOOP() {}

function destroy(client) {
  try {
    client.destroy();
  } catch {
    // Already closed.
  }
}

/** `new WebSocketServer({ port, adapter: createRedisAdapter({ url }) })`. */
function createRedisAdapter(options) {
  return new RedisAdapter(options);
}

module.exports = { createRedisAdapter, RedisAdapter };
