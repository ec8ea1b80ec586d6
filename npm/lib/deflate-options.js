'use strict';

// Maps ws's `perMessageDeflate` option object to the core's deflate settings.
// `true` for a window-bits option means "offer/accept the parameter without a
// value", which the core does by default, so only numbers are passed on.

function num(value) {
  return typeof value === 'number' ? value : undefined;
}

function nonNegative(value) {
  return typeof value === 'number' && value >= 0 && Number.isFinite(value)
    ? Math.floor(value)
    : undefined;
}

function deflateOptions(options) {
  const zlib = options.zlibDeflateOptions || {};
  const inflate = options.zlibInflateOptions || {};
  // windowBits in either object is not passed: ws overrides it with the
  // negotiated value too.
  return {
    serverNoContextTakeover: !!options.serverNoContextTakeover,
    clientNoContextTakeover: !!options.clientNoContextTakeover,
    serverMaxWindowBits: num(options.serverMaxWindowBits),
    clientMaxWindowBits: num(options.clientMaxWindowBits),
    level: num(zlib.level),
    memLevel: num(zlib.memLevel),
    strategy: num(zlib.strategy),
    deflateChunkSize: nonNegative(zlib.chunkSize),
    inflateChunkSize: nonNegative(inflate.chunkSize)
  };
}

module.exports = { deflateOptions };
