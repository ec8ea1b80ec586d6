'use strict';

// The ws-compatible WebSocketServer: listening, path routing, verifyClient,
// handleProtocols. The handshake itself — request checks in ws's order, permessage-
// deflate negotiation, the 101 — is the core's (ServerHandshake).

const EventEmitter = require('events');
const http = require('http');

const { ServerHandshake, wsDefaults } = require('./binding');
const { kWebSocket, kFeatures, kHub } = require('./constants');
const { featureOptions } = require('./features');
const { TopicHub } = require('./pubsub');
const { deflateOptions } = require('./deflate-options');
const { emitHeaders, flatHeaders, socketOptions, stringOr } = require('./handshake');
const WebSocket = require('./websocket');
const native = require('./native/transport');
const { wantedTransport, chooseTransport } = require('./transport-choice');

const RUNNING = 0;
const CLOSING = 1;
const CLOSED = 2;

// ws's limits (maxPayload, closeTimeout, ...) from the core's one table.
const { threshold: _threshold, ...WS_DEFAULTS } = wsDefaults();

class WebSocketServer extends EventEmitter {
  /**
   * @param {Object} options
   * @param {Function} [callback] listener of 'listening' (with `port`)
   */
  constructor(options, callback) {
    super();

    options = {
      allowSynchronousEvents: true,
      autoPong: true,
      ...WS_DEFAULTS,
      skipUTF8Validation: false,
      perMessageDeflate: false,
      handleProtocols: null,
      clientTracking: true,
      verifyClient: null,
      noServer: false,
      backlog: null,
      server: null,
      host: null,
      path: null,
      port: null,
      WebSocket,
      ...options
    };
    const wanted = wantedTransport(options.transport);

    if (
      (options.port == null && !options.server && !options.noServer) ||
      (options.port != null && (options.server || options.noServer)) ||
      (options.server && options.noServer)
    ) {
      throw new TypeError(
        'One and only one of the "port", "server", or "noServer" options ' +
          'must be specified'
      );
    }

    options[kFeatures] = featureOptions(options);
    this._hub = new TopicHub(checkAdapter(options.adapter));

    options.transport = chooseTransport(
      wanted,
      native.unsupportedServerOptions(options, WebSocket)
    );
    // On the native transport a `port`-mode server listens in Rust; in the other
    // modes Node's HTTP server upgrades and each plain TCP socket is then taken over
    // (a transport made on the first one).
    this._native = null;
    if (options.transport === 'native' && options.port != null) {
      this._native = new native.NativeTransport(this, options, {
        listen: true,
        onListening: callback,
        onEmpty: () => this._emitClose()
      });
    } else if (options.port != null) {
      this._server = http.createServer((req, res) => {
        const body = http.STATUS_CODES[426];
        res.writeHead(426, {
          'Content-Length': body.length,
          'Content-Type': 'text/plain'
        });
        res.end(body);
      });
      this._server.listen(options.port, options.host, options.backlog, callback);
    } else if (options.server) {
      this._server = options.server;
    }

    if (this._server) {
      const emitConnection = this.emit.bind(this, 'connection');
      this._removeListeners = addListeners(this._server, {
        listening: this.emit.bind(this, 'listening'),
        error: this.emit.bind(this, 'error'),
        upgrade: (req, socket, head) => {
          this.handleUpgrade(req, socket, head, emitConnection);
        }
      });
    }

    if (options.perMessageDeflate === true) options.perMessageDeflate = {};
    if (options.clientTracking) {
      this.clients = new Set();
      this._shouldEmitClose = false;
    }

    this.options = options;
    this._deflate = options.perMessageDeflate
      ? deflateOptions(options.perMessageDeflate)
      : null;
    this._state = RUNNING;
  }

  address() {
    if (this.options.noServer) {
      throw new Error('The server is operating in "noServer" mode');
    }
    if (this._native !== null && this._native.listens) return this._native.address();
    if (!this._server) return null;
    return this._server.address();
  }

  close(cb) {
    if (this._state === CLOSED) {
      if (cb) {
        this.once('close', () => {
          cb(new Error('The server is not running'));
        });
      }
      process.nextTick(emitClose, this);
      return;
    }

    if (cb) this.once('close', cb);
    if (this._state === CLOSING) return;
    this._state = CLOSING;
    this._hub.close();

    if (this._native !== null && this._native.listens) {
      this._native.close();
    } else if (this.options.noServer || this.options.server) {
      // Taken-over connections go on; their transport is freed after the last.
      if (this._native !== null) this._native.close();
      if (this._server) {
        this._removeListeners();
        this._removeListeners = this._server = null;
      }
      if (this.clients && this.clients.size) {
        this._shouldEmitClose = true;
      } else {
        process.nextTick(emitClose, this);
      }
    } else {
      const server = this._server;
      this._removeListeners();
      this._removeListeners = this._server = null;
      server.close(() => {
        emitClose(this);
      });
    }
  }

  shouldHandle(req) {
    if (this.options.path) {
      const url = stringOr(req.url);
      const index = url.indexOf('?');
      const pathname = index !== -1 ? url.slice(0, index) : url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  /**
   * Answers an upgrade request on any Duplex. Reads what ws reads (`req.method`,
   * `req.url`, `req.headers`) and answers a malformed request as ws does, without
   * throwing.
   */
  handleUpgrade(req, socket, head, cb) {
    socket.on('error', socketOnError);

    const reqHeaders =
      req.headers !== null && typeof req.headers === 'object' ? req.headers : {};
    const handshake = new ServerHandshake(
      stringOr(req.method),
      stringOr(req.url),
      flatHeaders(reqHeaders)
    );
    const refuse = (failure) =>
      abortHandshakeOrEmitwsClientError(
        this,
        req,
        socket,
        failure.status,
        failure.message,
        pairsToObject(failure.headers)
      );

    // The checks in ws's order: method, Upgrade, key, version; the path; the
    // subprotocols; the extensions; verifyClient.
    let failure = handshake.failure;
    if (failure) return refuse(failure);

    if (!this.shouldHandle(req)) {
      abortHandshake(socket, 400);
      return;
    }

    failure = handshake.checkProtocols();
    if (failure) return refuse(failure);

    if (this._deflate) {
      failure = handshake.negotiateDeflate(this._deflate);
      if (failure) return refuse(failure);
    }

    const protocols = new Set(handshake.protocols);
    const complete = () =>
      this.completeUpgrade(handshake, protocols, req, socket, head, cb);

    if (this.options.verifyClient) {
      const origin = reqHeaders[handshake.version === 8 ? 'sec-websocket-origin' : 'origin'];
      const info = {
        origin,
        secure: !!(req.socket && (req.socket.authorized || req.socket.encrypted)),
        req
      };

      if (this.options.verifyClient.length === 2) {
        this.options.verifyClient(info, (verified, code, message, headers) => {
          if (!verified) return abortHandshake(socket, code || 401, message, headers);
          complete();
        });
        return;
      }

      if (!this.options.verifyClient(info)) return abortHandshake(socket, 401);
    }

    complete();
  }

  /**
   * Answers 101 and hands the socket to a new WebSocket.
   *
   * @private
   */
  completeUpgrade(handshake, protocols, req, socket, head, cb) {
    if (!socket.readable || !socket.writable) return socket.destroy();

    if (socket[kWebSocket]) {
      throw new Error(
        'server.handleUpgrade() was called more than once with the same ' +
          'socket, possibly due to a misconfiguration'
      );
    }

    if (this._state > RUNNING) return abortHandshake(socket, 503);

    let protocol;
    if (protocols.size) {
      protocol = this.options.handleProtocols
        ? this.options.handleProtocols(protocols, req)
        : protocols.values().next().value;
    }

    let head101;
    try {
      head101 = handshake.accept(protocol ? String(protocol) : undefined);
    } catch (err) {
      throw new TypeError(err.message);
    }
    if (head101 === null) {
      const failure = handshake.failure;
      return abortHandshake(socket, failure ? failure.status : 500, failure && failure.message);
    }

    const deflate = handshake.takeDeflate();

    const response =
      this.listenerCount('headers') > 0 ? emitHeaders(this, head101, req) : head101;
    socket.removeListener('error', socketOnError);

    let ws;
    if (this.options.transport === 'native' && native.adoptableFd(socket) !== -1) {
      if (this._native === null) {
        this._native = new native.NativeTransport(this, this.options, { listen: false });
      }
      ws = this._native.adoptServerSocket(socket, head, response, protocol || '', deflate);
      if (ws === null) return;
    } else {
      socket.write(response);
      ws = new this.options.WebSocket(null, undefined, this.options);
      ws[kHub] = this._hub;
      ws.setSocket(socket, head, {
        ...socketOptions(this.options, deflate),
        protocol: protocol || '',
        extensions: deflate ? 'permessage-deflate' : ''
      });
    }

    if (this.clients) {
      this.clients.add(ws);
      ws.on('close', () => {
        this.clients.delete(ws);
        if (this._shouldEmitClose && !this.clients.size) {
          process.nextTick(emitClose, this);
        }
      });
    }

    cb(ws, req);
  }
}

/**
 * Publishes `data` to every subscriber of `topic` (exact match), framed once; with
 * an adapter, to the other processes' subscribers too.
 *
 * @param {String} topic
 * @param {*} data
 * @param {{ binary?: boolean, compress?: boolean, except?: WebSocket }} [options]
 * @return {{ reached: number, dropped: number, closed: number }} this process's counts
 */
WebSocketServer.prototype.publish = function publish(topic, data, options) {
  return this._hub.publish(topic, data, options);
};

/** This process's subscribers of `topic`. */
WebSocketServer.prototype.subscribers = function subscribers(topic) {
  return this._hub.subscribers(topic);
};

/** Emits 'close' (the native transport calls it once its last connection is gone). */
WebSocketServer.prototype._emitClose = function () {
  emitClose(this);
};

module.exports = WebSocketServer;

const ADAPTER_METHODS = ['attach', 'subscribe', 'unsubscribe', 'publish', 'close'];

function checkAdapter(adapter) {
  if (adapter === undefined || adapter === null) return null;
  for (const name of ADAPTER_METHODS) {
    if (typeof adapter[name] !== 'function') {
      throw new TypeError(
        `The "adapter" option must be a pub/sub adapter (e.g. createRedisAdapter()): ` +
          `it has no ${name}() method`
      );
    }
  }
  return adapter;
}

function pairsToObject(flat) {
  if (!flat || !flat.length) return undefined;
  const out = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]] = flat[i + 1];
  return out;
}

function addListeners(server, map) {
  for (const event of Object.keys(map)) server.on(event, map[event]);
  return function removeListeners() {
    for (const event of Object.keys(map)) {
      server.removeListener(event, map[event]);
    }
  };
}

function emitClose(server) {
  server._state = CLOSED;
  server.emit('close');
}

function socketOnError() {
  this.destroy();
}

/**
 * Answers a refused upgrade with an HTTP error and closes the socket.
 */
function abortHandshake(socket, code, message, headers) {
  message = message || http.STATUS_CODES[code];
  headers = {
    Connection: 'close',
    'Content-Type': 'text/html',
    'Content-Length': Buffer.byteLength(message),
    ...headers
  };

  socket.once('finish', socket.destroy);
  socket.end(
    `HTTP/1.1 ${code} ${http.STATUS_CODES[code]}\r\n` +
      Object.keys(headers)
        .map((h) => `${h}: ${headers[h]}`)
        .join('\r\n') +
      '\r\n\r\n' +
      message
  );
}

function abortHandshakeOrEmitwsClientError(server, req, socket, code, message, headers) {
  if (server.listenerCount('wsClientError')) {
    const err = new Error(message);
    Error.captureStackTrace(err, abortHandshakeOrEmitwsClientError);
    server.emit('wsClientError', err, socket, req);
  } else {
    abortHandshake(socket, code, message, headers);
  }
}
