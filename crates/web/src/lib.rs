//! ferrosocket-web: a reconnecting heartbeat WebSocket for browsers.
//!
//! The browser's own `WebSocket` moves the bytes; the [`ferrosocket_core::session::Session`]
//! decides when to connect, ping, give up and flush. This crate only wires the two together
//! with timers and browser events:
//!
//! - `ReconnectingWebSocket`: the JS class of `pkg/`, shaped like `WebSocket`
//!   (`js/reconnecting-websocket.js`, which owns the socket and drives the exported
//!   [`js::Link`], the session itself).
//! - [`ReconnectingSocket`] / [`WebSocket`]: a Rust `Stream` + `Sink` API for Rust web apps.

mod driver;
pub mod js;
mod stream;
mod sys;

pub use driver::Output;
pub use ferrosocket_core::session::{
    Config, DropReason, EndReason, Heartbeat, HeartbeatMode, Message, Overflow, QueueConfig,
    SendError, State,
};
pub use stream::{Event, ReconnectingSocket, WebSocket};

/// Smaller than the default dlmalloc; the browser main thread is single-threaded anyway.
#[cfg(all(target_arch = "wasm32", feature = "small-alloc"))]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());
