//! The transport's [`Poller`] on Node's libuv loop: one `uv_poll_t` per socket. A poll
//! handle that waits for something is active and keeps the process alive, as a Node
//! socket that reads does; one that waits for nothing (paused, or deciding) does not.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};
use std::io;
use std::os::fd::RawFd;

use ferrosocket_transport::{Interest, Poller, Token};

use super::uv::{handle_memory, Uv, UV_DISCONNECT, UV_READABLE, UV_WRITABLE};

/// What a poll handle's `data` points at: who to tell, and the handle's memory.
struct PollCtx {
    owner: *mut c_void,
    on_ready: ReadyFn,
    token: Token,
    handle: Box<[u64]>,
}

/// Told when a socket is ready: `(owner, token, readable, writable)`.
pub type ReadyFn = unsafe fn(*mut c_void, Token, bool, bool);

pub struct UvPoller {
    uv: &'static Uv,
    loop_: *mut c_void,
    owner: *mut c_void,
    on_ready: ReadyFn,
    handles: HashMap<Token, *mut PollCtx>,
}

impl UvPoller {
    /// A poller on `loop_` that reports readiness to `on_ready(owner, ...)`.
    pub fn new(uv: &'static Uv, loop_: *mut c_void, owner: *mut c_void, on_ready: ReadyFn) -> Self {
        UvPoller {
            uv,
            loop_,
            owner,
            on_ready,
            handles: HashMap::new(),
        }
    }

    fn start(&self, ctx: *mut PollCtx, interest: Interest) {
        let events = (if interest.read {
            UV_READABLE | UV_DISCONNECT
        } else {
            0
        }) | (if interest.write { UV_WRITABLE } else { 0 });
        // SAFETY: `ctx` is a live PollCtx of this poller (freed only by its close
        // callback, after deregister); its handle was initialised by uv_poll_init.
        let handle = unsafe { (*ctx).handle.as_mut_ptr() }.cast::<c_void>();
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
        let ctx = Box::into_raw(Box::new(PollCtx {
            owner: self.owner,
            on_ready: self.on_ready,
            token,
            handle: handle_memory(self.uv.poll_size),
        }));
        // SAFETY: `ctx` was just allocated; its handle memory is uv_handle_size(UV_POLL)
        // bytes, 8-aligned, and stays put until the close callback frees it.
        let handle = unsafe { (*ctx).handle.as_mut_ptr() }.cast::<c_void>();
        // SAFETY: `loop_` is Node's loop (napi_get_uv_event_loop) and this runs on its
        // thread; `fd` is an open socket owned by the transport until deregister.
        let rc = unsafe { (self.uv.poll_init)(self.loop_, handle, fd) };
        if rc != 0 {
            // SAFETY: uv_poll_init failed, so libuv kept no reference to the handle.
            drop(unsafe { Box::from_raw(ctx) });
            return Err(io::Error::other(format!("uv_poll_init failed ({rc})")));
        }
        // SAFETY: an initialised handle; `data` is ours to set.
        unsafe { (self.uv.handle_set_data)(handle, ctx.cast()) };
        self.handles.insert(token, ctx);
        self.start(ctx, interest);
        Ok(())
    }

    fn update(&mut self, token: Token, interest: Interest) {
        if let Some(&ctx) = self.handles.get(&token) {
            self.start(ctx, interest);
        }
    }

    fn deregister(&mut self, token: Token) {
        if let Some(ctx) = self.handles.remove(&token) {
            // SAFETY: `ctx` is live until `on_closed`. uv_close stops the poll handle
            // at once (the descriptor leaves epoll before the transport closes it) and
            // calls `on_closed` on a later loop turn, which frees the memory.
            unsafe {
                let handle = (*ctx).handle.as_mut_ptr().cast::<c_void>();
                (self.uv.close)(handle, Some(on_closed));
            }
        }
    }
}

/// libuv's poll callback.
unsafe extern "C" fn on_poll(handle: *mut c_void, status: c_int, events: c_int) {
    let Ok(uv) = super::uv::uv() else { return };
    // SAFETY: every poll handle's data is its PollCtx, live until its close callback.
    let ctx = unsafe { &*(uv.handle_get_data)(handle).cast::<PollCtx>() };
    let (owner, token, ready) = (ctx.owner, ctx.token, ctx.on_ready);
    // A negative status is a socket error: let the read or write find it.
    let readable = status < 0 || events & (UV_READABLE | UV_DISCONNECT) != 0;
    let writable = status < 0 || events & UV_WRITABLE != 0;
    // SAFETY: `owner` is the server that registered the handle and outlives its
    // handles (it deregisters them all before it is freed).
    unsafe { ready(owner, token, readable, writable) };
}

/// libuv's close callback: the handle is done with; free it.
unsafe extern "C" fn on_closed(handle: *mut c_void) {
    let Ok(uv) = super::uv::uv() else { return };
    // SAFETY: the data of a poll handle is the PollCtx allocated by `register`;
    // libuv no longer uses the handle once its close callback runs.
    drop(unsafe { Box::from_raw((uv.handle_get_data)(handle).cast::<PollCtx>()) });
}
