'use strict';

// The opt-in server additions' options (heartbeat, idleTimeout, maxLifetime,
// highWaterMark, maxBackpressure, closeOnBackpressureLimit), checked once when a
// server or client is made and turned into the engine's option fields. What they
// mean is decided in the core (crates/core: Config::keepalive, max_backpressure).

function duration(name, value) {
  if (value === undefined || value === null || value === false || value === 0) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`The "${name}" option must be a non-negative number of milliseconds`);
  }
  return value;
}

function bytes(name, value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`The "${name}" option must be a non-negative number of bytes`);
  }
  return value;
}

/**
 * @param {Object} options a WebSocketServer's or a client WebSocket's options
 * @return {Object|null} the engine fields, or null when none of the features is used
 */
function featureOptions(options) {
  const hb = options.heartbeat;
  let heartbeatInterval = 0;
  let heartbeatTimeout;
  if (hb !== undefined && hb !== null && hb !== false) {
    if (typeof hb !== 'object') {
      throw new TypeError('The "heartbeat" option must be an object: { interval, timeout }');
    }
    heartbeatInterval = duration('heartbeat.interval', hb.interval);
    if (heartbeatInterval === 0) {
      throw new TypeError('The "heartbeat.interval" option must be a positive number');
    }
    // Absent: the engine's default (one interval).
    heartbeatTimeout = hb.timeout === undefined ? undefined : duration('heartbeat.timeout', hb.timeout);
  }
  const idleTimeout = duration('idleTimeout', options.idleTimeout);
  const maxLifetime = duration('maxLifetime', options.maxLifetime);
  const highWaterMark = bytes('highWaterMark', options.highWaterMark);
  const maxBackpressure = bytes('maxBackpressure', options.maxBackpressure) || 0;
  const closeOnBackpressureLimit = !!options.closeOnBackpressureLimit;
  if (closeOnBackpressureLimit && maxBackpressure === 0) {
    throw new TypeError('The "closeOnBackpressureLimit" option needs "maxBackpressure"');
  }
  if (
    heartbeatInterval === 0 &&
    idleTimeout === 0 &&
    maxLifetime === 0 &&
    highWaterMark === undefined &&
    maxBackpressure === 0
  ) {
    return null;
  }
  // Named as the engine's options (crates/node EngineOptions), passed on as they are.
  return {
    heartbeatInterval,
    heartbeatTimeout,
    idleTimeout,
    maxLifetime,
    highWaterMark,
    maxBackpressure,
    closeOnBackpressureLimit
  };
}

module.exports = { featureOptions };
