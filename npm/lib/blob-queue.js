'use strict';

// Sends whose data is a Blob: its bytes are read asynchronously, so later sends wait
// behind it to keep their order (as in ws). The queue's bytes count in bufferedAmount.
// It talks to its WebSocket only through a `sink`:
//   { isOpen(), send(data, opts), sendAfterClose(cb), fail(err), done() }

const { isBlob, byteLength } = require('./data');

/**
 * Queues a send; returns the queue (create it by passing `null`).
 *
 * @param {Object|null} queue
 * @param {Object} sink
 * @param {*} data
 * @param {{ binary, compress, fin, mask, cb }} opts
 */
function enqueueBlob(queue, sink, data, opts) {
  const q = queue || { items: [], bytes: 0 };
  const size = byteLength(data);
  q.items.push({ data, opts, size });
  q.bytes += size;
  if (q.items.length === 1) drainBlobs(q, sink);
  return q;
}

function drainBlobs(q, sink) {
  while (q.items.length) {
    const item = q.items[0];
    if (isBlob(item.data)) {
      item.data.arrayBuffer().then(
        (ab) => {
          item.data = Buffer.from(ab);
          drainBlobs(q, sink);
        },
        (err) => {
          // ws reports a failed Blob read as an error and closes.
          q.items.length = 0;
          q.bytes = 0;
          sink.done();
          process.nextTick(() => {
            if (item.opts.cb) item.opts.cb(err);
            sink.fail(err);
          });
        }
      );
      return;
    }
    q.items.shift();
    q.bytes -= item.size;
    if (sink.isOpen()) sink.send(item.data, item.opts);
    else if (item.opts.cb) sink.sendAfterClose(item.opts.cb);
  }
  sink.done();
}

module.exports = { enqueueBlob };
