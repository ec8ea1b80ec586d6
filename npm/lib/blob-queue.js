'use strict';

// Sends whose data is a Blob: its bytes are read asynchronously, so later sends — and
// a close() called meanwhile — wait behind it to keep their order (as in ws's sender
// queue). The queue's bytes count in bufferedAmount. It talks to its WebSocket only
// through a `sink`:
//   { canSend(), destroyed(), send(data, opts), sendAfterClose(cb), close(code, reason),
//     fail(err), done() }

const { checkClose } = require('./binding');
const { misuse } = require('./errors');
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

/** Queues a close() behind the pending sends; a bad code or reason throws now, as ws. */
function enqueueClose(q, code, reason) {
  const bad = checkClose(code, reason);
  if (bad) throw misuse(bad);
  q.items.push({ close: true, code, reason, size: 0, opts: {} });
}

/** Every queued callback gets `err` (ws's `callCallbacks`), in order; the queue empties. */
function failAll(q, sink, err) {
  const items = q.items;
  q.items = [];
  q.bytes = 0;
  sink.done();
  for (const item of items) if (item.opts.cb) item.opts.cb(err);
}

function drainBlobs(q, sink) {
  while (q.items.length) {
    const item = q.items[0];
    if (item.close) {
      q.items.shift();
      sink.close(item.code, item.reason);
      continue;
    }
    if (isBlob(item.data)) {
      item.data.arrayBuffer().then(
        (ab) => {
          if (sink.destroyed()) {
            // Next tick: errors thrown by callbacks stay out of the promise chain (ws).
            const err = new Error('The socket was closed while the blob was being read');
            process.nextTick(failAll, q, sink, err);
            return;
          }
          item.data = Buffer.from(ab);
          drainBlobs(q, sink);
        },
        (err) => {
          // ws reports a failed Blob read to every queued callback, then as an error.
          process.nextTick(() => {
            failAll(q, sink, err);
            sink.fail(err);
          });
        }
      );
      return;
    }
    q.items.shift();
    q.bytes -= item.size;
    if (sink.canSend()) sink.send(item.data, item.opts);
    else if (item.opts.cb) sink.sendAfterClose(item.opts.cb);
  }
  sink.done();
}

module.exports = { enqueueBlob, enqueueClose };
