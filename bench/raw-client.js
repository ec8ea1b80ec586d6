'use strict';

// Raw WebSocket clients for the Node load generators (load.js's idle and deflate
// scenarios, fanout.js): upgraded TCP sockets, so a generator costs as little as possible.

const net = require('net');
const crypto = require('crypto');

const GUIDLESS_REQ = (port, extra = '') =>
  `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n${extra}\r\n`;

/** Opens one upgraded raw connection (`extra`: more request header lines). */
function connect(port, extra) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    s.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const i = head.indexOf('\r\n\r\n');
      if (i === -1) return;
      s.removeListener('data', onData);
      if (!head.subarray(0, 12).toString().includes('101')) {
        reject(new Error('upgrade refused'));
        return;
      }
      if (extra && !head.subarray(0, i).toString().toLowerCase().includes('permessage-deflate')) {
        reject(new Error('permessage-deflate not negotiated'));
        return;
      }
      resolve({ socket: s, rest: head.subarray(i + 4) });
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(GUIDLESS_REQ(port, extra));
  });
}

module.exports = { connect };
