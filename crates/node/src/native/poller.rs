//! The transport's [`Poller`] on Node's libuv loop. [`LoopPoller`] is, on Linux, an
//! epoll set of the transport's own watched by one `uv_poll_t` ([`super::epoll`]: no
//! libuv handle per socket), and elsewhere — or where epoll cannot be had, or with
//! `FERROSOCKET_UV_POLL=1` — [`UvPoller`]: one `uv_poll_t` per socket. Either way a
//! socket that waits for something keeps the process alive, as a Node socket that
//! reads does; one that waits for nothing (paused, or deciding) does not.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::RawFd;

use ferrosocket_transport::{Interest, Poller, Token};

use super::uv::{handle_memory, Uv, UV_DISCONNECT, UV_READABLE, UV_WRITABLE};

/// What every poll handle's `data` points at: who to tell (one per poller, boxed so
/// that it stays put when the poller moves).
struct Target {
    owner: *mut c_void,
    on_ready: ReadyFn,
}

/// A socket's poll handle: one allocation of `words` words, the `uv_poll_t` first
/// (uv_handle_size(UV_POLL) bytes) and the socket's token in the last word. An idle
/// connection costs libuv's handle and 8 bytes here.
struct PollHandle;

impl PollHandle {
    fn words(uv: &Uv) -> usize {
        uv.poll_size.div_ceil(8) + 1
    }

    fn alloc(uv: &Uv, token: Token) -> *mut u64 {
        let mut memory = handle_memory(8 * Self::words(uv));
        if let Some(last) = memory.last_mut() {
            *last = token.0;
        }
        Box::into_raw(memory).cast::<u64>()
    }

    /// # Safety
    /// `handle` was made by `alloc` and not freed.
    unsafe fn token(uv: &Uv, handle: *const u64) -> Token {
        // SAFETY: the allocation is `words` long; the last word is the token.
        Token(unsafe { *handle.add(Self::words(uv) - 1) })
    }

    /// # Safety
    /// `handle` was made by `alloc`, libuv is done with it, and it is not used after.
    unsafe fn free(uv: &Uv, handle: *mut u64) {
        let words = Self::words(uv);
        // SAFETY: the Box<[u64]> of `words` words that `alloc` leaked.
        drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(handle, words)) });
    }
}

/// A socket found ready.
#[derive(Debug, Clone, Copy)]
pub struct Ready {
    pub token: Token,
    pub readable: bool,
    pub writable: bool,
}

/// Told when sockets are ready: `(owner, readies)`. The owner may be freed by the call
/// (JS closing its server): the poller touches nothing of its own afterwards.
pub type ReadyFn = unsafe fn(*mut c_void, &[Ready]);

/// The poller a transport on Node's loop uses (see the module's doc).
pub enum LoopPoller {
    #[cfg(target_os = "linux")]
    Epoll(super::epoll::EpollPoller),
    Uv(UvPoller),
}

impl LoopPoller {
    /// A poller on `loop_` that reports readiness to `on_ready(owner, ...)`.
    pub(crate) fn new(
        uv: &'static Uv,
        loop_: *mut c_void,
        owner: *mut c_void,
        on_ready: ReadyFn,
    ) -> Self {
        #[cfg(target_os = "linux")]
        if std::env::var_os("FERROSOCKET_UV_POLL").as_deref() != Some(std::ffi::OsStr::new("1")) {
            if let Ok(p) = super::epoll::EpollPoller::new(uv, loop_, owner, on_ready) {
                return LoopPoller::Epoll(p);
            }
        }
        LoopPoller::Uv(UvPoller::new(uv, loop_, owner, on_ready))
    }
}

impl Poller for LoopPoller {
    fn register(&mut self, token: Token, fd: RawFd, interest: Interest) -> io::Result<()> {
        match self {
            #[cfg(target_os = "linux")]
            LoopPoller::Epoll(p) => p.register(token, fd, interest),
            LoopPoller::Uv(p) => p.register(token, fd, interest),
        }
    }

    fn update(&mut self, token: Token, fd: RawFd, previous: Interest, interest: Interest) {
        match self {
            #[cfg(target_os = "linux")]
            LoopPoller::Epoll(p) => p.update(token, fd, previous, interest),
            LoopPoller::Uv(p) => p.update(token, fd, previous, interest),
        }
    }

    fn deregister(&mut self, token: Token, fd: RawFd, interest: Interest) {
        match self {
            #[cfg(target_os = "linux")]
            LoopPoller::Epoll(p) => p.deregister(token, fd, interest),
            LoopPoller::Uv(p) => p.deregister(token, fd, interest),
        }
    }
}

pub struct UvPoller {
    uv: &'static Uv,
    loop_: *mut c_void,
    target: Box<Target>,
    handles: HashMap<Token, *mut u64>,
}

impl UvPoller {
    /// A poller on `loop_` that reports readiness to `on_ready(owner, ...)`.
    pub fn new(uv: &'static Uv, loop_: *mut c_void, owner: *mut c_void, on_ready: ReadyFn) -> Self {
        UvPoller {
            uv,
            loop_,
            target: Box::new(Target { owner, on_ready }),
            handles: HashMap::new(),
        }
    }

    fn start(&self, handle: *mut u64, interest: Interest) {
        let events = (if interest.read {
            UV_READABLE | UV_DISCONNECT
        } else {
            0
        }) | (if interest.write { UV_WRITABLE } else { 0 });
        // `handle` is a live handle of this poller (freed only by its close callback,
        // after deregister), initialised by uv_poll_init.
        let handle = handle.cast::<c_void>();
        if events == 0 {
            // SAFETY: stopping an initialised poll handle (active or not) is allowed.
            unsafe { (self.uv.poll_stop)(handle) };
        } else {
            // SAFETY: as above; `on_poll` has uv_poll_cb's signature. Starting an
            // active handle again replaces its events (uv_poll_start docs).
            unsafe { (self.uv.poll_start)(handle, events, on_poll) };
        }
    }
}

impl Poller for UvPoller {
    fn register(&mut self, token: Token, fd: RawFd, interest: Interest) -> io::Result<()> {
        // The handle's memory is uv_handle_size(UV_POLL) bytes, 8-aligned, and stays
        // put until the close callback frees it.
        let memory = PollHandle::alloc(self.uv, token);
        let handle = memory.cast::<c_void>();
        // SAFETY: `loop_` is Node's loop (napi_get_uv_event_loop) and this runs on its
        // thread; `fd` is an open socket owned by the transport until deregister.
        let rc = unsafe { (self.uv.poll_init)(self.loop_, handle, fd) };
        if rc != 0 {
            // SAFETY: uv_poll_init failed, so libuv kept no reference to the handle.
            unsafe { PollHandle::free(self.uv, memory) };
            return Err(io::Error::other(format!("uv_poll_init failed ({rc})")));
        }
        let target: *const Target = &*self.target;
        // SAFETY: an initialised handle; `data` is ours to set. The target lives as
        // long as the poller, which closes every handle before it is dropped.
        unsafe { (self.uv.handle_set_data)(handle, target.cast_mut().cast()) };
        self.handles.insert(token, memory);
        self.start(memory, interest);
        Ok(())
    }

    fn update(&mut self, token: Token, _: RawFd, _: Interest, interest: Interest) {
        if let Some(&handle) = self.handles.get(&token) {
            self.start(handle, interest);
        }
    }

    fn deregister(&mut self, token: Token, _: RawFd, _: Interest) {
        if let Some(handle) = self.handles.remove(&token) {
            // SAFETY: `handle` is live until `on_closed`. uv_close stops the poll
            // handle at once (the descriptor leaves epoll before the transport closes
            // it) and calls `on_closed` on a later loop turn, which frees the memory.
            unsafe { (self.uv.close)(handle.cast(), Some(on_closed)) };
        }
    }
}

/// libuv's poll callback.
unsafe extern "C" fn on_poll(handle: *mut c_void, status: c_int, events: c_int) {
    let Ok(uv) = super::uv::uv() else { return };
    // SAFETY: every poll handle's data is its poller's Target, and the handle is a
    // PollHandle allocation; both live until its close callback.
    let (target, token) = unsafe {
        (
            &*(uv.handle_get_data)(handle).cast::<Target>(),
            PollHandle::token(uv, handle.cast()),
        )
    };
    let (owner, ready) = (target.owner, target.on_ready);
    // A negative status is a socket error: let the read or write find it.
    let readable = status < 0 || events & (UV_READABLE | UV_DISCONNECT) != 0;
    let writable = status < 0 || events & UV_WRITABLE != 0;
    // SAFETY: `owner` is the server that registered the handle and outlives its
    // handles (it deregisters them all before it is freed).
    unsafe {
        ready(
            owner,
            &[Ready {
                token,
                readable,
                writable,
            }],
        )
    };
}

/// libuv's close callback: the handle is done with; free it.
unsafe extern "C" fn on_closed(handle: *mut c_void) {
    let Ok(uv) = super::uv::uv() else { return };
    // SAFETY: a poll handle is the PollHandle allocation made by `register`; libuv no
    // longer uses the handle once its close callback runs.
    unsafe { PollHandle::free(uv, handle.cast()) };
}
