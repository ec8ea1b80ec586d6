//! Large buffers kept for reuse on this thread: a message buffer the caller is done
//! with ([`recycle_buffer`]) or a written-out send-queue segment becomes the next
//! large message's or segment's memory. A fresh allocation of a megabyte is fresh
//! pages — a page fault and a zeroed page each 4 KiB, ~13 % of a server's CPU echoing
//! 1 MiB messages — while a reused one is already paged in.
//!
//! Bounded: at most [`KEPT`] buffers of [`MIN_CAPACITY`]..=[`MAX_CAPACITY`] bytes
//! each (16 MiB at most); others are freed as usual.

use std::cell::RefCell;

/// Smaller buffers are cheap to allocate (the allocator reuses them by itself).
pub const MIN_CAPACITY: usize = 64 * 1024;
/// Larger ones are rare and would pin much memory.
pub const MAX_CAPACITY: usize = 2 * 1024 * 1024;
/// Buffers kept at most, per thread.
const KEPT: usize = 8;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Gives a buffer back for reuse by this thread's connections (a delivered message's
/// once the caller is done with it). Its bytes are not read again; a buffer outside
/// the kept sizes, or one more than the pool keeps, is freed.
pub fn recycle_buffer(mut buf: Vec<u8>) {
    if !(MIN_CAPACITY..=MAX_CAPACITY).contains(&buf.capacity()) {
        return;
    }
    buf.clear();
    // At thread exit the pool may be gone already: the buffer is simply freed.
    let _ = SPARE.try_with(|spare| {
        if let Ok(mut spare) = spare.try_borrow_mut() {
            if spare.len() < KEPT {
                spare.push(buf);
            }
        }
    });
}

/// An empty buffer with room for `want` bytes (a kept one when one fits), or `None`:
/// below [`MIN_CAPACITY`], or nothing kept fits. A buffer more than twice `want` does
/// not fit: a message the caller keeps would pin memory it does not use.
pub(crate) fn take(want: usize) -> Option<Vec<u8>> {
    if want < MIN_CAPACITY {
        return None;
    }
    SPARE
        .try_with(|spare| {
            let mut spare = spare.try_borrow_mut().ok()?;
            let fits = |b: &Vec<u8>| b.capacity() >= want && b.capacity() / 2 <= want;
            let i = spare.iter().position(fits)?;
            Some(spare.swap_remove(i))
        })
        .ok()
        .flatten()
}

/// Room for `want` more bytes in `buf`, from the pool when `buf` has none yet.
pub(crate) fn reserve(buf: &mut Vec<u8>, want: usize) {
    if buf.capacity() == 0 {
        if let Some(spare) = take(want) {
            *buf = spare;
            return;
        }
    }
    buf.reserve(want);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_buffers_come_back_bounded_in_count_and_size() {
        recycle_buffer(Vec::with_capacity(MIN_CAPACITY - 1));
        recycle_buffer(Vec::with_capacity(MAX_CAPACITY + 1));
        assert!(take(MIN_CAPACITY).is_none(), "outside the kept sizes");
        let mut kept = Vec::with_capacity(1 << 20);
        kept.extend_from_slice(b"old bytes");
        let at = kept.as_ptr();
        recycle_buffer(kept);
        assert!(take(2 << 20).is_none(), "too small for 2 MiB");
        assert!(take(MIN_CAPACITY).is_none(), "too large for 64 KiB");
        let again = take(1 << 20).expect("the kept buffer");
        assert_eq!(again.as_ptr(), at);
        assert!(again.is_empty());
        assert!(take(1 << 20).is_none(), "taken once");
        for _ in 0..KEPT + 3 {
            recycle_buffer(Vec::with_capacity(MIN_CAPACITY));
        }
        let n = std::iter::from_fn(|| take(MIN_CAPACITY)).count();
        assert_eq!(n, KEPT);
        let mut fresh = Vec::new();
        recycle_buffer(Vec::with_capacity(MIN_CAPACITY * 2));
        reserve(&mut fresh, MIN_CAPACITY + 1);
        assert_eq!(fresh.capacity(), MIN_CAPACITY * 2, "reused");
        let mut small = Vec::new();
        reserve(&mut small, 10);
        assert!(small.capacity() >= 10);
    }
}
