'use strict';

// What the client and server handshake paths share: ws's inputs (header objects,
// options of any type a user may pass) in the shapes the addon takes, so that no
// napi conversion error can reach a user. The rules themselves are the core's.

const { kFeatures } = require('./constants');

/**
 * A header value as a string, as Node's parser would have it; `undefined` for a
 * value that cannot be one (it is then treated as absent).
 */
function headerString(value) {
  switch (typeof value) {
    case 'string':
      return value;
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value);
    default:
      // Node joins repeated fields with ', ' (it keeps `set-cookie` as an array).
      return Array.isArray(value)
        ? value.filter((v) => typeof v === 'string').join(', ')
        : undefined;
  }
}

/**
 * `req.headers` / `res.headers` (what ws reads) as flat `[name, value, ...]` strings.
 * A missing or non-object `headers` reads as no headers.
 *
 * @param {Object} headers
 * @return {String[]}
 */
function flatHeaders(headers) {
  const flat = [];
  if (headers === null || typeof headers !== 'object') return flat;
  for (const name of Object.keys(headers)) {
    const value = headerString(headers[name]);
    if (value !== undefined) flat.push(name, value);
  }
  return flat;
}

/** A string argument, or '' for anything else (which the core then refuses). */
function stringOr(value) {
  return typeof value === 'string' ? value : '';
}

/** A numeric option as ws reads one (`+value`); `undefined` stays the default. */
function numeric(value) {
  return value === undefined || typeof value === 'number' ? value : Number(value);
}

/**
 * The options `WebSocket#setSocket` takes after a handshake, from a server's or a
 * client's options and the negotiated permessage-deflate handle.
 */
function socketOptions(options, deflate) {
  const pmd = options.perMessageDeflate;
  return {
    allowSynchronousEvents: options.allowSynchronousEvents,
    closeTimeout: numeric(options.closeTimeout),
    maxBufferedChunks: numeric(options.maxBufferedChunks),
    maxFragments: numeric(options.maxFragments),
    maxPayload: numeric(options.maxPayload),
    maxPendingAutoPongs: numeric(options.maxPendingAutoPongs),
    skipUTF8Validation: options.skipUTF8Validation,
    threshold: pmd !== null && typeof pmd === 'object' ? numeric(pmd.threshold) : undefined,
    features: options[kFeatures] || null,
    concurrencyLimit:
      pmd !== null && typeof pmd === 'object' ? numeric(pmd.concurrencyLimit) : undefined,
    deflate
  };
}

/**
 * The limits an engine (a core connection) takes, from `socketOptions`' result.
 *
 * @param {Object} o what `socketOptions` returned
 */
function engineOptions(o) {
  return {
    maxPayload: o.maxPayload,
    maxFragments: o.maxFragments,
    maxBufferedChunks: o.maxBufferedChunks,
    skipUtf8Validation: !!o.skipUTF8Validation,
    threshold: o.threshold,
    closeTimeout: o.closeTimeout,
    maxPendingAutoPongs: o.maxPendingAutoPongs,
    ...o.features
  };
}

/**
 * ws's `'headers'` event: its listeners may edit the lines of the `101`; returns the
 * response to write.
 *
 * @param {import('events').EventEmitter} wss
 * @param {string} head101 the response head, ending with an empty line
 * @param {Object} req
 * @return {string}
 */
function emitHeaders(wss, head101, req) {
  const lines = head101.split('\r\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  wss.emit('headers', lines, req);
  return lines.concat('\r\n').join('\r\n');
}

module.exports = { emitHeaders, engineOptions, flatHeaders, socketOptions, stringOr };
