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
  // A received message waits to be inflated off the JS thread (Engine#inflateTask).
  EV_INFLATE: 9,
  // Engine#send: the message went behind (or into) a compression job.
  SEND_DEFERRED: 1
};
