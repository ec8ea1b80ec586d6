'use strict';

// Sends whose data is a Blob: its bytes are read asynchronously, so later sends wait
// behind it to keep their order (as in ws). The queue's bytes count in bufferedAmount.

const { toSendable, isBlob, byteLength } = require('./data');

function enqueueBlob(ws, data, binary, compress, fin, cb) {
  if (ws._blobQueue === null) ws._blobQueue = { items: [], bytes: 0 };
  const q = ws._blobQueue;
  const size = byteLength(data);
  q.items.push({ data, binary, compress, fin, cb, size });
  q.bytes += size;
  if (q.items.length === 1) drainBlobs(ws);
}

function drainBlobs(ws) {
  const q = ws._blobQueue;
  while (q.items.length) {
    const item = q.items[0];
    if (isBlob(item.data)) {
      item.data.arrayBuffer().then(
        (ab) => {
          item.data = Buffer.from(ab);
          drainBlobs(ws);
        },
        (err) => {
          // ws reports a failed Blob read as an error and closes.
          q.items.length = 0;
          ws._blobQueue = null;
          process.nextTick(() => {
            if (item.cb) item.cb(err);
            if (!ws._errorEmitted) {
              ws._errorEmitted = true;
              ws.emit('error', err);
            }
            if (ws._socket) ws._socket.destroy();
          });
        }
      );
      return;
    }
    q.items.shift();
    q.bytes -= item.size;
    if (ws._readyState === ws.OPEN) {
      ws._sendNow(toSendable(item.data), item.binary, item.compress, item.fin, item.cb);
    } else if (item.cb) {
      ws._sendAfterClose(undefined, item.cb);
    }
  }
  ws._blobQueue = null;
}

module.exports = { enqueueBlob };
