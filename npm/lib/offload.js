'use strict';

// Compression and inflation of large messages on libuv's thread pool. The engine
// decides what goes out (messages from a size on: ferrosocket_core::ws::OFFLOAD_*),
// keeps later sends and received bytes behind such a job, and frames or delivers its
// result in order; this file only runs its tasks, at most `concurrencyLimit` of them
// per process (ws's zlib limiter, sized by the first connection that needs it).

const { runDeflate, runInflate } = require('./binding');
const Limiter = require('./limiter');

let limiter = null;

function limiterFor(concurrency) {
  if (limiter === null) limiter = new Limiter(concurrency === undefined ? 10 : concurrency);
  return limiter;
}

/**
 * Runs the engine's next task of one kind when a slot is free, then
 * `done(ws, result)`; `result` is null when the engine had nothing to run (it was
 * terminated meanwhile) or the task failed.
 *
 * @param {WebSocket} ws
 * @param {Boolean} inflate inflate task (else the deflate task)
 * @param {Function} done
 */
function runTask(ws, inflate, done) {
  limiterFor(ws._zlibConcurrency).add((release) => {
    const engine = ws._engine;
    let work = null;
    if (engine !== null) work = inflate ? engine.inflateWork() : engine.deflateWork();
    const task = work === null ? null : inflate ? runInflate(work) : runDeflate(work);
    if (task === null) {
      release();
      done(ws, null);
      return;
    }
    task.then(
      (result) => {
        release();
        done(ws, result);
      },
      () => {
        release();
        done(ws, null);
      }
    );
  });
}

module.exports = { runTask };
