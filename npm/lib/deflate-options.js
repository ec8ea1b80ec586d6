'use strict';

// Maps ws's `perMessageDeflate` option object to the core's deflate settings.
// `true` for a window-bits option means "offer/accept the parameter without a
// value", which the core does by default, so only numbers are passed on.

function num(value) {
  return typeof value === 'number' ? value : undefined;
}

function deflateOptions(options) {
  const zlib = options.zlibDeflateOptions || {};
  return {
    serverNoContextTakeover: !!options.serverNoContextTakeover,
    clientNoContextTakeover: !!options.clientNoContextTakeover,
    serverMaxWindowBits: num(options.serverMaxWindowBits),
    clientMaxWindowBits: num(options.clientMaxWindowBits),
    level: num(zlib.level)
  };
}

module.exports = { deflateOptions };
