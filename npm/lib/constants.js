'use strict';

// Shared constants of the façade. Nothing here is a protocol rule: those live in the core.

const hasBlob = typeof Blob !== 'undefined';
const BINARY_TYPES = ['nodebuffer', 'arraybuffer', 'fragments'];
if (hasBlob) BINARY_TYPES.push('blob');

module.exports = {
  BINARY_TYPES,
  EMPTY_BUFFER: Buffer.alloc(0),
  hasBlob,
  READY_STATES: ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'],
  kForOnEventAttribute: Symbol('kIsForOnEventAttribute'),
  kListener: Symbol('kListener'),
  kWebSocket: Symbol('websocket'),
  kWasClean: Symbol('wasClean'),
  // WebSocket methods for client.js (the client handshake).
  kSetUrl: Symbol('setUrl'),
  kFailHandshake: Symbol('failHandshake'),
  kHandshakeAborting: Symbol('handshakeAborting'),
  // The server additions (features.js, pubsub.js): the checked feature options on an
  // options object, a server connection's topic hub, and its publish delivery.
  kFeatures: Symbol('features'),
  kHub: Symbol('hub'),
  kPublish: Symbol('publish'),
  kShared: Symbol('shared'), // published frames waiting for this socket (owned by pubsub.js)
  kWriteShared: Symbol('writeShared'),
  PUBLISH_SKIPPED: 0,
  PUBLISH_REACHED: 1,
  PUBLISH_DROPPED: 2,
  PUBLISH_CLOSED: 3,
  PUBLISH_SENT: 4,
  NOOP: () => {},
  // Event kinds of Engine#feed (crates/node/src/engine.rs).
  EV_TEXT: 1,
  EV_BINARY: 2,
  EV_PING: 3,
  EV_PONG: 4,
  EV_CLOSE: 5,
  EV_ERROR: 6,
  EV_TEXT_AT: 7,
  EV_BINARY_AT: 8,
  EV_FRAME_ENDS: 9,
  // A received message waits to be inflated off the JS thread (Engine#inflateTask).
  EV_INFLATE: 10,
  // Engine#send answers: the message went behind (or into) a compression job; the
  // buffered bytes are over the high-water mark (send() returns false).
  SEND_DEFERRED: 1,
  SEND_OVER_HIGH_WATER_MARK: 2,
  SEND_DEFERRED_OVER_HIGH_WATER_MARK: 3
};
