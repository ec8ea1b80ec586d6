//! Linux: the transport's sockets in an epoll set of its own, and that set's
//! descriptor watched by one `uv_poll_t` on Node's loop. libuv then holds one handle
//! per transport instead of one per socket (a `uv_poll_t`, ~170 bytes, and a slot of
//! its watcher table for every idle connection), and one loop turn's readinesses reach
//! the transport in one call.
//!
//! Level-triggered as `uv_poll_t` is: a socket with more to read reports again on the
//! next turn. A socket that waits for nothing is taken out of the set (epoll reports
//! a hang-up even with no events asked for, which would wake the loop forever).

use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use ferrosocket_transport::{Interest, Poller, Token};

use super::poller::{Ready, ReadyFn};
use super::uv::{handle_memory, Uv, UV_READABLE};

/// Most readinesses taken from the set per loop turn (libuv takes 1,024 per
/// `epoll_wait`; the rest report on the next turn).
const READY_BATCH: usize = 256;

/// What the set's poll handle's `data` points at (boxed: it stays put, and the close
/// callback frees it with the handle).
struct Target {
    owner: *mut c_void,
    on_ready: ReadyFn,
    set: RawFd,
    /// The `uv_poll_t`'s memory, freed with this.
    handle: Box<[u64]>,
}

pub struct EpollPoller {
    uv: &'static Uv,
    set: OwnedFd,
    target: *mut Target,
    /// Sockets in the set: the poll handle is active (and keeps the loop alive) while
    /// there is one.
    watched: usize,
}

impl EpollPoller {
    /// A set on `loop_` that reports readiness to `on_ready(owner, ...)`.
    pub(crate) fn new(
        uv: &'static Uv,
        loop_: *mut c_void,
        owner: *mut c_void,
        on_ready: ReadyFn,
    ) -> io::Result<Self> {
        // SAFETY: plain system call; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by epoll_create1 and nothing else owns it.
        let set = unsafe { OwnedFd::from_raw_fd(fd) };
        let target = Box::into_raw(Box::new(Target {
            owner,
            on_ready,
            set: fd,
            handle: handle_memory(uv.poll_size),
        }));
        // SAFETY: `target` is live (freed only by the close callback); its handle
        // memory is uv_handle_size(UV_POLL) bytes, 8-aligned, and stays put. `loop_` is
        // Node's loop and this runs on its thread.
        unsafe {
            let handle = (*target).handle.as_mut_ptr().cast::<c_void>();
            let rc = (uv.poll_init)(loop_, handle, fd);
            if rc != 0 {
                drop(Box::from_raw(target));
                return Err(io::Error::other(format!("uv_poll_init failed ({rc})")));
            }
            (uv.handle_set_data)(handle, target.cast());
        }
        Ok(EpollPoller {
            uv,
            set,
            target,
            watched: 0,
        })
    }

    fn handle(&self) -> *mut c_void {
        // SAFETY: `target` is live while the poller is (closed in Drop).
        unsafe { (*self.target).handle.as_mut_ptr().cast() }
    }

    fn ctl(&self, op: c_int, fd: RawFd, token: Token, interest: Interest) -> io::Result<()> {
        let mut events = 0u32;
        if interest.read {
            events |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
        }
        if interest.write {
            events |= libc::EPOLLOUT as u32;
        }
        let mut event = libc::epoll_event {
            events,
            u64: token.0,
        };
        // SAFETY: `set` is our epoll descriptor; `event` outlives the call.
        let rc = unsafe { libc::epoll_ctl(self.set.as_raw_fd(), op, fd, &mut event) };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// One socket more (`+1`) or fewer (`-1`) in the set: the poll handle starts with
    /// the first and stops after the last.
    fn count(&mut self, delta: isize) {
        let before = self.watched;
        self.watched = self.watched.saturating_add_signed(delta);
        let handle = self.handle();
        // SAFETY: the handle was initialised in `new` and is live until Drop.
        unsafe {
            if before == 0 && self.watched > 0 {
                (self.uv.poll_start)(handle, UV_READABLE, on_set_ready);
            } else if before > 0 && self.watched == 0 {
                (self.uv.poll_stop)(handle);
            }
        }
    }
}

impl Poller for EpollPoller {
    fn register(&mut self, token: Token, fd: RawFd, interest: Interest) -> io::Result<()> {
        if interest == Interest::NONE {
            return Ok(());
        }
        self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest)?;
        self.count(1);
        Ok(())
    }

    fn update(&mut self, token: Token, fd: RawFd, previous: Interest, interest: Interest) {
        // A socket is in the set exactly while its interest is not NONE. A failed call
        // leaves the descriptor where it was: the socket's next read or write finds
        // what is wrong with it.
        if previous == Interest::NONE {
            if self.ctl(libc::EPOLL_CTL_ADD, fd, token, interest).is_ok() {
                self.count(1);
            }
        } else if interest == Interest::NONE {
            self.deregister(token, fd, previous);
        } else {
            let _ = self.ctl(libc::EPOLL_CTL_MOD, fd, token, interest);
        }
    }

    fn deregister(&mut self, token: Token, fd: RawFd, interest: Interest) {
        if interest != Interest::NONE && self.ctl(libc::EPOLL_CTL_DEL, fd, token, interest).is_ok()
        {
            self.count(-1);
        }
    }
}

impl Drop for EpollPoller {
    fn drop(&mut self) {
        // SAFETY: the handle is live; uv_close stops it at once (libuv drops the set's
        // descriptor from its own epoll before `set` is closed below) and frees the
        // target on a later loop turn, in `on_closed`.
        unsafe { (self.uv.close)(self.handle(), Some(on_closed)) };
    }
}

/// libuv's poll callback: the set has ready sockets.
unsafe extern "C" fn on_set_ready(handle: *mut c_void, _status: c_int, _events: c_int) {
    let Ok(uv) = super::uv::uv() else { return };
    // SAFETY: the handle's data is its live Target (freed only in on_closed).
    let target = unsafe { &*(uv.handle_get_data)(handle).cast::<Target>() };
    let (owner, on_ready, set) = (target.owner, target.on_ready, target.set);
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; READY_BATCH];
    // SAFETY: `set` is open while the handle is (both go in Drop, the handle first);
    // `events` holds READY_BATCH entries. A timeout of 0 never blocks.
    let n = unsafe { libc::epoll_wait(set, events.as_mut_ptr(), READY_BATCH as c_int, 0) };
    let Ok(n) = usize::try_from(n) else { return };
    let mut readies = [Ready {
        token: Token(0),
        readable: false,
        writable: false,
    }; READY_BATCH];
    let hangup = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
    for (ready, event) in readies.iter_mut().zip(&events[..n]) {
        let bits = event.events;
        *ready = Ready {
            token: Token(event.u64),
            // An error or hang-up: let the read or the write find it.
            readable: bits & ((libc::EPOLLIN | libc::EPOLLRDHUP) as u32 | hangup) != 0,
            writable: bits & (libc::EPOLLOUT as u32 | hangup) != 0,
        };
    }
    // SAFETY: `owner` registered these sockets and is live (it drops this poller,
    // and so stops this handle, before it is freed). Nothing of the target is used
    // after the call, which may free the poller.
    unsafe { on_ready(owner, &readies[..n]) };
}

/// libuv's close callback: free the handle's memory and its target.
unsafe extern "C" fn on_closed(handle: *mut c_void) {
    let Ok(uv) = super::uv::uv() else { return };
    // SAFETY: the data is the Target made in `new`, which owns the handle's memory;
    // libuv no longer uses the handle once its close callback runs.
    drop(unsafe { Box::from_raw((uv.handle_get_data)(handle).cast::<Target>()) });
}
