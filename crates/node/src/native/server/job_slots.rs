//! ws's zlib limiter is one per process (per module instance, so per thread) and sized
//! by the first connection that needs it (`concurrencyLimit`). The native servers of a
//! thread share one the same way: at most that many jobs of all of them are on libuv's
//! pool at once; a server whose jobs wait for a place is woken, in turn, when one is
//! given back.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::c_void;

#[derive(Default)]
struct Slots {
    /// Set by the first `acquire` (ws: the first connection's limit).
    limit: Option<usize>,
    out: usize,
    /// The most places taken at once so far (a diagnostic: `nativeJobsPeak()`).
    peak: usize,
    /// Servers with jobs waiting for a place, each once, in the order they asked.
    waiters: VecDeque<*mut c_void>,
}

thread_local! {
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
}

/// Takes a place for one job (`limit` sizes the limiter when this is its first use);
/// `false`: all are taken.
pub(super) fn acquire(limit: usize) -> bool {
    SLOTS.with_borrow_mut(|s| {
        let limit = *s.limit.get_or_insert(limit.max(1));
        if s.out < limit {
            s.out += 1;
            s.peak = s.peak.max(s.out);
            true
        } else {
            false
        }
    })
}

/// The most jobs this thread's native servers had on libuv's pool at once.
pub(super) fn peak() -> usize {
    SLOTS.with_borrow(|s| s.peak)
}

/// Gives a place back (a job is done, or was run inline instead).
pub(super) fn release() {
    SLOTS.with_borrow_mut(|s| s.out = s.out.saturating_sub(1));
}

/// `owner` has jobs waiting for a place: it is woken by `next_woken` (once queued).
pub(super) fn wait(owner: *mut c_void) {
    SLOTS.with_borrow_mut(|s| {
        if !s.waiters.contains(&owner) {
            s.waiters.push_back(owner);
        }
    });
}

/// `owner` goes away: it is not woken any more.
pub(super) fn forget(owner: *mut c_void) {
    SLOTS.with_borrow_mut(|s| s.waiters.retain(|&w| w != owner));
}

/// The next waiting server while a place is free (taken off the queue: it queues
/// itself again if it still has jobs waiting once the places are gone).
pub(super) fn next_woken() -> Option<*mut c_void> {
    SLOTS.with_borrow_mut(|s| {
        let limit = s.limit.unwrap_or(usize::MAX);
        if s.out < limit {
            s.waiters.pop_front()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_limit_sizes_the_places_and_waiters_are_woken_in_turn() {
        // Each test runs on a thread of its own: a fresh limiter.
        assert!(acquire(2));
        assert!(acquire(50), "sized by the first call: 2");
        assert!(!acquire(50));
        let (mut x, mut y) = (0u8, 0u8);
        let (a, b): (*mut c_void, *mut c_void) = (
            std::ptr::addr_of_mut!(x).cast(),
            std::ptr::addr_of_mut!(y).cast(),
        );
        wait(a);
        wait(b);
        wait(a);
        assert_eq!(next_woken(), None, "no place free");
        release();
        assert_eq!(next_woken(), Some(a));
        assert_eq!(next_woken(), Some(b), "still free until taken");
        forget(a);
        assert_eq!(next_woken(), None);
    }
}
