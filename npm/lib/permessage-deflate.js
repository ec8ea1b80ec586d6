'use strict';

// ws's `PerMessageDeflate` negotiation API (`offer`, `accept`, `normalizeParams`,
// `params`), decided by the core's rules (crates/core/src/deflate_negotiation.rs,
// through the addon): the same rules answer the handshakes of WebSocket and
// WebSocketServer. Compression itself belongs to a connection's engine; this class
// has no `compress`/`decompress` (see README, known differences).

const { pmdOffer, pmdAccept, pmdNormalize, pmdHandle } = require('./binding');
const { misuse } = require('./errors');

const EXTENSION_NAME = 'permessage-deflate';

/** A ws option as the core reads it: absent, a boolean or a number. */
function setting(value) {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  return !!value;
}

function coreOptions(options) {
  return {
    serverNoContextTakeover: setting(options.serverNoContextTakeover),
    clientNoContextTakeover: setting(options.clientNoContextTakeover),
    serverMaxWindowBits: setting(options.serverMaxWindowBits),
    clientMaxWindowBits: setting(options.clientMaxWindowBits)
  };
}

/** The core's parameter list as ws's params object (`true` for a bare one). */
function toObject(list) {
  const params = {};
  for (const { key, value } of list) params[key] = value == null ? true : value;
  return params;
}

/** ws's configurations (parameter → list of values) as the core's raw lists. */
function toRaw(configurations) {
  return configurations.map((params) =>
    Object.keys(params).map((key) => {
      const given = params[key];
      const list = Array.isArray(given) ? given : [given];
      return { key, values: list.map((v) => (v === true ? null : String(v))) };
    })
  );
}

class PerMessageDeflate {
  /**
   * @param {Object} [options] ws's permessage-deflate options (`serverNoContextTakeover`,
   *   `clientNoContextTakeover`, `serverMaxWindowBits`, `clientMaxWindowBits`,
   *   `threshold`, `zlibDeflateOptions`, ..., `isServer`, `maxPayload`)
   */
  constructor(options) {
    this._options = options || {};
    this._threshold = this._options.threshold !== undefined ? this._options.threshold : 1024;
    this._maxPayload = this._options.maxPayload | 0;
    this._isServer = !!this._options.isServer;
    this.params = null;
  }

  static get extensionName() {
    return EXTENSION_NAME;
  }

  /**
   * The extension negotiation offer (client).
   *
   * @return {Object}
   */
  offer() {
    return toObject(pmdOffer(coreOptions(this._options)));
  }

  /**
   * Accepts an offer (server) or the response (client); throws ws's errors.
   *
   * @param {Object[]} configurations as `extension.parse()` lists them
   * @return {Object} the accepted parameters
   */
  accept(configurations) {
    const result = pmdAccept(coreOptions(this._options), this._isServer, toRaw(configurations));
    if (!Array.isArray(result)) throw misuse(result);
    this.params = toObject(result);
    return this.params;
  }

  /**
   * ws's `normalizeParams`: checks and converts the values (window bits to numbers).
   *
   * @param {Object[]} configurations
   * @return {Object[]}
   */
  normalizeParams(configurations) {
    const result = pmdNormalize(this._isServer, toRaw(configurations));
    if (!Array.isArray(result)) throw misuse(result);
    configurations.forEach((params, i) => {
      const normalized = toObject(result[i]);
      for (const key of Object.keys(params)) params[key] = normalized[key];
    });
    return configurations;
  }

  /** Releases the extension's resources (nothing is held outside an engine). */
  cleanup() {}

  /**
   * The agreed parameters as the engine takes them (used by `Receiver`).
   *
   * @private
   */
  _engineHandle() {
    if (this.params === null) return null;
    const list = Object.keys(this.params).map((key) => ({
      key,
      value: this.params[key] === true ? null : Number(this.params[key])
    }));
    const zlib = this._options.zlibDeflateOptions || {};
    return pmdHandle(list, typeof zlib.level === 'number' ? zlib.level : undefined);
  }
}

module.exports = PerMessageDeflate;
