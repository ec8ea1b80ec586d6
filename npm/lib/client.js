'use strict';

// Client side of the opening handshake: URL handling, the HTTP upgrade request,
// redirects, timeouts. The key, the offers and the checks of the server's answer
// (in ws's order, on `res.headers` as ws reads them) come from the core
// (ClientHandshake).

const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');
const querystring = require('querystring');
const { URL } = require('url');

const { ClientHandshake, wsDefaults } = require('./binding');

// ws's limits (maxPayload, closeTimeout, ...) from the core's one table.
const { threshold: _threshold, ...WS_DEFAULTS } = wsDefaults();
const { deflateOptions } = require('./deflate-options');
const { flatHeaders, socketOptions } = require('./handshake');
const { kFailHandshake, kHandshakeAborting, kSetUrl, kFeatures } = require('./constants');
const { featureOptions } = require('./features');
const native = require('./native/transport');
const { wantedTransport, chooseTransport } = require('./transport-choice');

const kAborted = Symbol('kAborted');
// The client handshake's own state (request, redirects), kept by this module on its WebSocket.
const kClient = Symbol('clientHandshake');
const protocolVersions = [8, 13];

function normalizeArgs(protocols, options) {
  if (protocols === undefined) {
    if (!options || options.protocols === undefined) protocols = [];
    else if (Array.isArray(options.protocols)) protocols = options.protocols;
    else protocols = [options.protocols];
  } else if (!Array.isArray(protocols)) {
    if (typeof protocols === 'object' && protocols !== null) {
      options = protocols;
      if (options.protocols === undefined) protocols = [];
      else if (Array.isArray(options.protocols)) protocols = options.protocols;
      else protocols = [options.protocols];
    } else {
      protocols = [protocols];
    }
  }
  return [protocols, options];
}

/**
 * Starts the opening handshake of a client WebSocket.
 *
 * @return {Object} the resolved options
 */
function initAsClient(websocket, address, protocols, options) {
  const opts = {
    allowSynchronousEvents: true,
    autoPong: true,
    protocolVersion: protocolVersions[1],
    ...WS_DEFAULTS,
    skipUTF8Validation: false,
    perMessageDeflate: true,
    followRedirects: false,
    maxRedirects: 10,
    ...options,
    socketPath: undefined,
    hostname: undefined,
    protocol: undefined,
    protocols: undefined,
    timeout: undefined,
    method: 'GET',
    host: undefined,
    path: undefined,
    port: undefined
  };

  opts[kFeatures] = featureOptions(opts);
  // Rust takes the socket over after the upgrade where it can (see ./native).
  opts.transport = chooseTransport(
    wantedTransport(opts.transport),
    native.unsupportedClientOptions(opts)
  );

  if (!protocolVersions.includes(opts.protocolVersion)) {
    throw new RangeError(
      `Unsupported protocol version: ${opts.protocolVersion} ` +
        `(supported versions: ${protocolVersions.join(', ')})`
    );
  }

  let parsedUrl;
  if (address instanceof URL) {
    parsedUrl = address;
  } else {
    try {
      parsedUrl = new URL(address);
    } catch {
      throw new SyntaxError(`Invalid URL: ${address}`);
    }
  }

  if (parsedUrl.protocol === 'http:' || parsedUrl.protocol === 'https:') {
    parsedUrl = new URL(parsedUrl);
    parsedUrl.protocol = parsedUrl.protocol === 'http:' ? 'ws:' : 'wss:';
  }

  websocket[kSetUrl](parsedUrl.href);

  const isSecure = parsedUrl.protocol === 'wss:';
  const isIpcUrl = parsedUrl.protocol === 'ws+unix:';
  let invalidUrlMessage;

  if (parsedUrl.protocol !== 'ws:' && !isSecure && !isIpcUrl) {
    invalidUrlMessage =
      'The URL\'s protocol must be one of "ws:", "wss:", ' +
      '"http:", "https:", or "ws+unix:"';
  } else if (isIpcUrl && !parsedUrl.pathname) {
    invalidUrlMessage = "The URL's pathname is empty";
  } else if (parsedUrl.hash) {
    invalidUrlMessage = 'The URL contains a fragment identifier';
  }

  if (invalidUrlMessage) {
    const err = new SyntaxError(invalidUrlMessage);
    if (state(websocket).redirects === 0) throw err;
    emitErrorAndClose(websocket, err);
    return opts;
  }

  let handshake;
  try {
    handshake = new ClientHandshake(
      // A non-string is never a valid subprotocol: '' makes the core refuse it with
      // ws's message, so the rule and its message stay in one place.
      protocols.map((p) => (typeof p === 'string' ? p : '')),
      opts.perMessageDeflate
        ? deflateOptions(opts.perMessageDeflate === true ? {} : opts.perMessageDeflate)
        : null
    );
  } catch (e) {
    throw new SyntaxError(e.message);
  }

  const defaultPort = isSecure ? 443 : 80;
  const request = isSecure ? https.request : http.request;

  opts.createConnection =
    opts.createConnection || (isSecure ? tlsConnect : netConnect);
  opts.defaultPort = opts.defaultPort || defaultPort;
  opts.port = parsedUrl.port || defaultPort;
  opts.host = parsedUrl.hostname.startsWith('[')
    ? parsedUrl.hostname.slice(1, -1)
    : parsedUrl.hostname;
  opts.headers = {
    ...opts.headers,
    'Sec-WebSocket-Version': opts.protocolVersion,
    'Sec-WebSocket-Key': handshake.key,
    Connection: 'Upgrade',
    Upgrade: 'websocket'
  };
  opts.path = parsedUrl.pathname + parsedUrl.search;
  opts.timeout = opts.handshakeTimeout;

  const offer = handshake.offer;
  if (offer) opts.headers['Sec-WebSocket-Extensions'] = offer;
  if (protocols.length) {
    opts.headers['Sec-WebSocket-Protocol'] = protocols.join(',');
  }
  if (opts.origin) {
    if (opts.protocolVersion < 13) {
      opts.headers['Sec-WebSocket-Origin'] = opts.origin;
    } else {
      opts.headers.Origin = opts.origin;
    }
  }
  if (parsedUrl.username || parsedUrl.password) {
    const username = querystring.unescape(parsedUrl.username);
    const password = querystring.unescape(parsedUrl.password);
    opts.auth = `${username}:${password}`;
  }

  if (isIpcUrl) {
    const i = opts.path.indexOf(':');
    if (i === -1) {
      opts.socketPath = opts.path;
      opts.path = '';
    } else {
      opts.socketPath = opts.path.slice(0, i);
      opts.path = opts.path.slice(i + 1);
    }
  }

  let req;

  if (opts.followRedirects) {
    if (state(websocket).redirects === 0) {
      state(websocket).originalIpc = isIpcUrl;
      state(websocket).originalSecure = isSecure;
      state(websocket).originalHostOrSocketPath = isIpcUrl
        ? opts.socketPath
        : parsedUrl.host;

      const headers = options && options.headers;
      // Copy the user's options so that headers can change per redirect.
      options = { ...options, headers: {} };
      if (headers) {
        for (const [key, value] of Object.entries(headers)) {
          options.headers[key.toLowerCase()] = value;
        }
      }
    } else if (websocket.listenerCount('redirect') === 0) {
      const isSameHost = isIpcUrl
        ? state(websocket).originalIpc
          ? opts.socketPath === state(websocket).originalHostOrSocketPath
          : false
        : state(websocket).originalIpc
          ? false
          : parsedUrl.host === state(websocket).originalHostOrSocketPath;

      if (!isSameHost || (state(websocket).originalSecure && !isSecure)) {
        // Drop credentials when the redirect leaves the original host (as curl).
        delete opts.headers.authorization;
        delete opts.headers.cookie;
        if (!isSameHost) delete opts.headers.host;
        opts.auth = undefined;
      }
    }

    if (opts.auth && !options.headers.authorization) {
      options.headers.authorization =
        'Basic ' + Buffer.from(opts.auth).toString('base64');
    }

    req = state(websocket).req = request(opts);
    if (state(websocket).redirects) websocket.emit('redirect', websocket.url, req);
  } else {
    req = state(websocket).req = request(opts);
  }

  if (opts.timeout) {
    req.on('timeout', () => {
      abortHandshake(websocket, req, 'Opening handshake has timed out');
    });
  }

  req.on('error', (err) => {
    if (req === null || req[kAborted]) return;
    req = state(websocket).req = null;
    emitErrorAndClose(websocket, err);
  });

  req.on('response', (res) => {
    const location = res.headers.location;
    const statusCode = res.statusCode;

    if (location && opts.followRedirects && statusCode >= 300 && statusCode < 400) {
      if (++state(websocket).redirects > opts.maxRedirects) {
        abortHandshake(websocket, req, 'Maximum redirects exceeded');
        return;
      }
      req.abort();
      let addr;
      try {
        addr = new URL(location, address);
      } catch {
        emitErrorAndClose(websocket, new SyntaxError(`Invalid URL: ${location}`));
        return;
      }
      initAsClient(websocket, addr, protocols, options);
    } else if (!websocket.emit('unexpected-response', req, res)) {
      abortHandshake(websocket, req, `Unexpected server response: ${res.statusCode}`);
    }
  });

  req.on('upgrade', (res, socket, head) => {
    websocket.emit('upgrade', res);

    // A listener of 'upgrade' may have closed the WebSocket.
    if (websocket.readyState !== 0) return;
    req = state(websocket).req = null;

    const problem = handshake.validate(res.statusCode, flatHeaders(res.headers));
    if (problem) {
      abortHandshake(websocket, socket, problem);
      return;
    }

    const protocol = handshake.protocol;
    const deflate = handshake.takeDeflate();
    const extensions = deflate ? 'permessage-deflate' : '';

    if (opts.transport === 'native' && native.adoptableFd(socket) !== -1) {
      const transport = native.clientsTransport();
      if (transport.adoptClientSocket(websocket, socket, head, protocol, deflate, opts)) {
        websocket.emit('open');
      } else {
        abortHandshake(websocket, socket, 'The socket was closed during the handshake');
      }
      return;
    }

    websocket.setSocket(socket, head, {
      ...socketOptions(opts, deflate),
      protocol,
      extensions,
      generateMask: opts.generateMask
    });
  });

  if (opts.finishRequest) opts.finishRequest(req, websocket);
  else req.end();

  return opts;
}

function emitErrorAndClose(websocket, err) {
  websocket[kFailHandshake](err);
}

function netConnect(options) {
  options.path = options.socketPath;
  return net.connect(options);
}

function tlsConnect(options) {
  options.path = undefined;
  if (!options.servername && options.servername !== '') {
    options.servername = net.isIP(options.host) ? '' : options.host;
  }
  return tls.connect(options);
}

/**
 * Aborts the handshake and emits an error.
 *
 * @param {WebSocket} websocket
 * @param {(http.ClientRequest|net.Socket)} stream request to abort or socket to destroy
 * @param {String} message
 */
function abortHandshake(websocket, stream, message) {
  websocket[kHandshakeAborting]();
  const err = new Error(message);
  Error.captureStackTrace(err, abortHandshake);

  if (stream.setHeader) {
    stream[kAborted] = true;
    stream.abort();
    if (stream.socket && !stream.socket.destroyed) stream.socket.destroy();
    process.nextTick(emitErrorAndClose, websocket, err);
  } else {
    stream.destroy(err);
    stream.once('error', websocket.emit.bind(websocket, 'error'));
    stream.once('close', websocket.emitClose.bind(websocket));
  }
}

function state(websocket) {
  if (websocket[kClient] === undefined) websocket[kClient] = { redirects: 0, req: null };
  return websocket[kClient];
}

/** close()/terminate() while connecting: abort the request in flight, as ws does. */
function abortConnecting(websocket, message) {
  abortHandshake(websocket, state(websocket).req, message);
}

module.exports = { abortConnecting, abortHandshake, initAsClient, normalizeArgs };
