'use strict';

// ws's `subprotocol.parse` of `Sec-WebSocket-Protocol`; the grammar and its errors
// are the core's (crates/core/src/extension.rs, through the addon).

const { parseSubprotocols } = require('./binding');

/**
 * @param {String} header
 * @return {Set<String>} the subprotocol names, in order
 */
function parse(header) {
  const list = parseSubprotocols(String(header));
  if (typeof list === 'string') throw new SyntaxError(list);
  return new Set(list);
}

module.exports = { parse };
