'use strict';

// One timer for the core's deadlines of every connection (close timeout, heartbeat,
// idle timeout, max lifetime): each connection registers the time its engine asked
// for, and a single timer is armed for the earliest; when it fires, every connection
// that is due is told. No JS timer per connection. The deadlines sit in a binary heap
// (re-registering a key leaves its old entry behind, skipped when it comes up), so
// 10,000 connections with heartbeats cost O(log n) per deadline, not a scan.
// While any deadline is pending the process stays alive, as it does with ws's
// per-connection close timer.

// Deadlines are served on a 50 ms grid: those that fall in one slot are swept by one
// timer (connections opened at different times have heartbeats a few ms apart), at
// the cost of being up to 50 ms late.
const RESOLUTION_MS = 50;

const pending = new Map(); // key -> { at, onDue } (the live entry)
const heap = []; // entries ordered by `at`, stale ones included
let timer = null;
let timerAt = Infinity;

/**
 * Calls `onDue(key)` once `Date.now() >= at`. A key already due earlier keeps its
 * earlier time: callers re-ask their engine when called, so being called early is
 * harmless, and traffic that moves a deadline later costs nothing here.
 */
function watch(key, at, onDue) {
  const current = pending.get(key);
  if (current !== undefined && current.at <= at) return;
  const entry = { key, at, onDue };
  pending.set(key, entry);
  push(entry);
  if (heap.length > 2 * pending.size + 64) rebuild();
  if (at < timerAt) arm(at);
}

/** Drops the stale entries (keys watched again with an earlier time). */
function rebuild() {
  heap.length = 0;
  for (const entry of pending.values()) push(entry);
}

function unwatch(key) {
  pending.delete(key);
  if (pending.size === 0) {
    heap.length = 0;
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
      timerAt = Infinity;
    }
  }
}

function arm(at) {
  const slot = Math.ceil(at / RESOLUTION_MS) * RESOLUTION_MS;
  if (timer !== null) {
    if (slot === timerAt) return;
    clearTimeout(timer);
  }
  timerAt = slot;
  timer = setTimeout(sweep, Math.max(0, slot - Date.now()));
}

function sweep() {
  timer = null;
  timerAt = Infinity;
  const now = Date.now();
  while (heap.length > 0 && heap[0].at <= now) {
    const entry = pop();
    if (pending.get(entry.key) !== entry) continue; // replaced or unwatched
    pending.delete(entry.key);
    entry.onDue(entry.key);
  }
  // Drop stale entries at the top so the timer is armed for a live one.
  while (heap.length > 0 && pending.get(heap[0].key) !== heap[0]) pop();
  // onDue may have registered new deadlines (they armed the timer themselves).
  if (heap.length > 0 && heap[0].at < timerAt) arm(heap[0].at);
}

function push(entry) {
  heap.push(entry);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent].at <= entry.at) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = entry;
}

function pop() {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0) {
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && heap[r].at < heap[l].at ? r : l;
      if (heap[c].at >= last.at) break;
      heap[i] = heap[c];
      i = c;
    }
    heap[i] = last;
  }
  return top;
}

/** Live deadlines and heap entries (for tests: stale entries must not pile up). */
function stats() {
  return { pending: pending.size, entries: heap.length };
}

module.exports = { watch, unwatch, stats };
