//! The transport's read buffer handed to JS whole when a batch carries many payload
//! bytes: the messages are views of the bytes where they were read, not a copy (ws's
//! messages are views of their socket chunk the same way). A buffer goes back to a
//! small pool when JS has collected every view of it, so steady traffic reads into
//! memory already paged in.

use std::ops::Range;
use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::BufferSlice;
use napi::{Env, Result};

/// Payload bytes in a batch from which the read buffer is handed over instead of
/// copied: below it a copy is cheaper than a buffer of its own per batch.
pub(super) const HAND_OVER_MIN: usize = 16 * 1024;

/// Buffers kept for reuse, at most (each up to the batch limit plus one read).
const POOLED: usize = 4;

/// Read buffers JS gave back. Shared with the finalizers of the Buffers handed out,
/// which may outlive the server (a kept message keeps its buffer).
#[derive(Default, Clone)]
pub(super) struct ReadPool(Arc<Mutex<Vec<Vec<u8>>>>);

impl ReadPool {
    /// A buffer for the transport's next reads: one given back, or a new empty one.
    pub(super) fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default()
    }

    fn give_back(&self, buf: Vec<u8>) {
        if let Ok(mut pool) = self.0.lock() {
            if pool.len() < POOLED {
                pool.push(buf);
            }
        }
    }

    /// `buf[range]` as a Buffer that owns `buf`, which comes back to the pool once JS
    /// collects it. `range` is not empty and lies in `buf`.
    pub(super) fn hand_over<'env>(
        &self,
        env: &'env Env,
        mut buf: Vec<u8>,
        range: Range<usize>,
    ) -> Result<BufferSlice<'env>> {
        debug_assert!(range.start < range.end && range.end <= buf.len());
        let bytes = buf[range.clone()].as_mut_ptr();
        let pool = self.clone();
        // SAFETY: `bytes` points at `range.len()` bytes of `buf`'s heap allocation,
        // which moves into the finalizer's state without moving its bytes and is freed
        // (or pooled) only by the finalizer, after JS let go of the Buffer. The
        // transport no longer writes to `buf`: it reads into a replacement.
        unsafe {
            BufferSlice::from_external(env, bytes, range.len(), buf, move |_, buf| {
                pool.give_back(buf)
            })
        }
    }
}

/// A message the core assembled in a buffer of its own, as a Buffer that owns it. A
/// large one goes back to the core's spare buffers (`recycle_buffer`) once JS
/// collects it: the next large message is read into memory already paged in.
pub(super) fn hand_over_message(env: &Env, mut v: Vec<u8>) -> Result<BufferSlice<'_>> {
    if v.is_empty() || v.capacity() < ferrosocket_core::SPARE_BUFFER_MIN {
        return BufferSlice::from_data(env, v);
    }
    let (bytes, len) = (v.as_mut_ptr(), v.len());
    // SAFETY: `bytes` points at the `len` initialised bytes of `v`'s heap allocation,
    // which moves into the finalizer's state without moving its bytes and is freed or
    // recycled only by the finalizer, after JS let go of the Buffer.
    unsafe {
        BufferSlice::from_external(env, bytes, len, v, |_, v| {
            ferrosocket_core::recycle_buffer(v)
        })
    }
}
