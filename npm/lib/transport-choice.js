'use strict';

// Which transport a server (or a client connection) runs on: 'stream' (Node's
// sockets, as ws) or 'native' (Rust owns the socket, ./native). 'auto' takes the
// native transport wherever it can serve the options and the socket, and the stream
// transport elsewhere; 'native' insists and throws where it cannot. The default comes
// from the FERROSOCKET_TRANSPORT environment variable when it is set.

const TRANSPORTS = ['auto', 'native', 'stream'];
const DEFAULT_TRANSPORT = 'auto';

/**
 * The transport asked for: the option, else the environment, else the default.
 *
 * @param {*} option the `transport` option as given
 * @return {'auto'|'native'|'stream'}
 */
function wantedTransport(option) {
  if (option !== undefined) {
    if (!TRANSPORTS.includes(option)) {
      throw new TypeError('The "transport" option must be \'auto\', \'native\' or \'stream\'');
    }
    return option;
  }
  const env = process.env.FERROSOCKET_TRANSPORT;
  if (env === undefined || env === '') return DEFAULT_TRANSPORT;
  if (!TRANSPORTS.includes(env)) {
    throw new TypeError(
      `FERROSOCKET_TRANSPORT must be 'auto', 'native' or 'stream' (it is ${JSON.stringify(env)})`
    );
  }
  return env;
}

/**
 * Decides between the transports.
 *
 * @param {'auto'|'native'|'stream'} wanted
 * @param {string|null} unsupported what the native transport cannot do here (null: nothing)
 * @return {'native'|'stream'}
 */
function chooseTransport(wanted, unsupported) {
  if (wanted === 'stream') return 'stream';
  if (unsupported === null) return 'native';
  if (wanted === 'native') {
    throw new Error(`${unsupported} with transport: 'native' (use transport: 'auto' or 'stream')`);
  }
  return 'stream';
}

module.exports = { wantedTransport, chooseTransport, TRANSPORTS };
