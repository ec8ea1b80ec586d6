'use strict';

// One timer for the core's deadlines of every connection (today the close timeout):
// each connection registers the time its engine asked for, and a single timer is
// armed for the earliest; when it fires, every connection that is due is told.
// No JS timer per connection. While any deadline is pending the process stays
// alive, as it does with ws's per-connection close timer.

const pending = new Map(); // key -> { at, onDue }
let timer = null;
let timerAt = Infinity;

/** Calls `onDue(key)` once `Date.now() >= at`; registering the key again replaces it. */
function watch(key, at, onDue) {
  pending.set(key, { at, onDue });
  if (at < timerAt) arm(at);
}

function unwatch(key) {
  pending.delete(key);
  if (pending.size === 0 && timer !== null) {
    clearTimeout(timer);
    timer = null;
    timerAt = Infinity;
  }
}

function arm(at) {
  if (timer !== null) clearTimeout(timer);
  timerAt = at;
  timer = setTimeout(sweep, Math.max(0, at - Date.now()));
}

function sweep() {
  timer = null;
  timerAt = Infinity;
  const now = Date.now();
  let next = Infinity;
  for (const [key, entry] of pending) {
    if (entry.at <= now) {
      pending.delete(key);
      entry.onDue(key);
    } else if (entry.at < next) {
      next = entry.at;
    }
  }
  // onDue may have registered new deadlines (they armed the timer themselves).
  if (next < timerAt) arm(next);
}

module.exports = { watch, unwatch };
