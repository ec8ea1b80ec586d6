'use strict';

// ws's Limiter: at most `concurrency` jobs run at once, the others wait in order.
// Used for zlib work on the thread pool (`perMessageDeflate.concurrencyLimit`).

class Limiter {
  /**
   * @param {Number} [concurrency] jobs allowed at once (0 or absent = no bound)
   */
  constructor(concurrency) {
    this.concurrency = concurrency || Infinity;
    this.jobs = [];
    this.pending = 0;
    this.done = () => {
      this.pending--;
      this.run();
    };
  }

  /**
   * @param {Function} job called with a `done` function it must call once
   */
  add(job) {
    this.jobs.push(job);
    this.run();
  }

  /** @private */
  run() {
    if (this.pending >= this.concurrency || this.jobs.length === 0) return;
    const job = this.jobs.shift();
    this.pending++;
    job(this.done);
  }
}

module.exports = Limiter;
