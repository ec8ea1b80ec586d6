//! ferrosocket-web-link: the wasm module of the browser package `pkg/`. The core
//! [`ferrosocket_core::session::Session`] behind a plain C ABI of numbers: the JS class
//! (`crates/web/js/reconnecting-websocket.js`) owns the socket and the timer, reports what
//! happened with the time, and carries out the actions it drains. No wasm-bindgen: its glue
//! and runtime cost more than the whole class (the package's size budget is 15,000 bytes
//! gzipped), and the module imports nothing.
//!
//! Bytes cross through each link's buffer: JS asks [`link_buf`] for room, writes into the wasm
//! memory there and calls the operation with the length; results are written into the same
//! buffer, their length returned (-1: none), and read back at [`link_buf`] with that length.

mod link;
pub use link::{op, value, Link};

use std::sync::{Mutex, MutexGuard, PoisonError};

/// The links of the page's sockets; a handle is an index + 1 (0 is never a link). The module
/// runs on one thread (wasm32-unknown-unknown has none), so the lock never waits.
static LINKS: Mutex<Vec<Option<Link>>> = Mutex::new(Vec::new());

fn links() -> MutexGuard<'static, Vec<Option<Link>>> {
    // No poisoning: panics abort.
    LINKS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on link `h`; a handle that is not a link (freed, or never made) does nothing.
fn with<R: Default>(h: u32, f: impl FnOnce(&mut Link) -> R) -> R {
    match links().get_mut((h as usize).wrapping_sub(1)) {
        Some(Some(l)) => f(l),
        _ => R::default(),
    }
}

/// Runs `f` with the link's input bytes (the buffer's first `len`).
fn with_input<R: Default>(h: u32, len: usize, f: impl FnOnce(&mut Link, &[u8]) -> R) -> R {
    with(h, |l| {
        let io = std::mem::take(&mut l.io);
        let r = f(l, io.get(..len).unwrap_or(&io));
        l.io = io;
        r
    })
}

/// Writes `bytes` into `io`: their length, or -1 for none.
fn fill(io: &mut Vec<u8>, bytes: Option<&[u8]>) -> i32 {
    io.clear();
    match bytes {
        Some(b) => {
            io.extend_from_slice(b);
            b.len() as i32
        }
        None => -1,
    }
}

/// A new link (collecting options until START); its handle.
#[no_mangle]
pub extern "C" fn link_new() -> u32 {
    let mut links = links();
    match links.iter().position(Option::is_none) {
        Some(i) => {
            if let Some(slot) = links.get_mut(i) {
                *slot = Some(Link::default());
            }
            i as u32 + 1
        }
        None => {
            links.push(Some(Link::default()));
            links.len() as u32
        }
    }
}

/// Frees link `h` (its JS object was collected).
#[no_mangle]
pub extern "C" fn link_free(h: u32) {
    if let Some(slot) = links().get_mut((h as usize).wrapping_sub(1)) {
        *slot = None;
    }
}

/// Makes the link's buffer `len` bytes long; where it is in the wasm memory.
#[no_mangle]
pub extern "C" fn link_buf(h: u32, len: usize) -> usize {
    with(h, |l| {
        l.io.resize(len, 0);
        l.io.as_mut_ptr() as usize
    })
}

/// Sets an option from the buffer's first `len` bytes (see [`Link::opt`]); the length of the
/// error message written into the buffer, or -1.
#[no_mangle]
pub extern "C" fn link_opt(h: u32, len: usize, key_len: usize, kind: u32, n: f64) -> i32 {
    let e = with_input(h, len, |l, input| l.opt(input, key_len, kind as u8, n));
    with(h, |l| fill(&mut l.io, e.map(str::as_bytes)))
}

/// Numeric operations, see [`op`].
#[no_mangle]
pub extern "C" fn link_num(h: u32, op: u32, now: f64, n: f64) -> f64 {
    with(h, |l| l.num(op as u8, now, n))
}

/// Operations on the buffer's first `len` bytes (`text` != 0: UTF-8), see [`op`].
#[no_mangle]
pub extern "C" fn link_put(h: u32, op: u32, now: f64, n: f64, len: usize, text: u32) -> f64 {
    with_input(h, len, |l, input| l.put(op as u8, now, n, input, text != 0))
}

/// Writes result `op` into the buffer, see [`op`]; its length, or -1 for none.
#[no_mangle]
pub extern "C" fn link_out(h: u32, op: u32) -> i32 {
    with(h, |l| {
        let mut io = std::mem::take(&mut l.io);
        let n = fill(&mut io, l.out(op as u8));
        l.io = io;
        n
    })
}

/// lol_alloc's free-list allocator instead of dlmalloc: about 4 KB less gzipped wasm. The
/// module runs on one thread (the page's or a worker's), so the lock never waits.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
