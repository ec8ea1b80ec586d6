'use strict';

// ws's `extension` helpers: `parse` and `format` of `Sec-WebSocket-Extensions`. The
// grammar and its errors are the core's (crates/core/src/extension.rs, through the
// addon); this file only converts between its flat lists and ws's objects.

const { parseExtensions, formatExtensions } = require('./binding');

function push(dest, name, elem) {
  if (dest[name] === undefined) dest[name] = [elem];
  else dest[name].push(elem);
}

/**
 * Parses the `Sec-WebSocket-Extensions` header into an object: extension name →
 * list of offers, each parameter name → list of values (`true` for a bare one).
 *
 * @param {String} header
 * @return {Object}
 */
function parse(header) {
  const entries = parseExtensions(String(header));
  if (typeof entries === 'string') throw new SyntaxError(entries);
  const offers = Object.create(null);
  for (const { name, keys, values } of entries) {
    const params = Object.create(null);
    for (let i = 0; i < keys.length; i++) {
      push(params, keys[i], values[i] == null ? true : values[i]);
    }
    push(offers, name, params);
  }
  return offers;
}

/**
 * Builds the `Sec-WebSocket-Extensions` header value from an object shaped as
 * `parse` returns (single values and single offers may be given bare).
 *
 * @param {Object} extensions
 * @return {String}
 */
function format(extensions) {
  const entries = [];
  for (const name of Object.keys(extensions)) {
    let configurations = extensions[name];
    if (!Array.isArray(configurations)) configurations = [configurations];
    for (const params of configurations) {
      const keys = [];
      const values = [];
      for (const key of Object.keys(params)) {
        let list = params[key];
        if (!Array.isArray(list)) list = [list];
        for (const v of list) {
          keys.push(key);
          values.push(v === true ? null : String(v));
        }
      }
      entries.push({ name, keys, values });
    }
  }
  return formatExtensions(entries);
}

module.exports = { format, parse };
