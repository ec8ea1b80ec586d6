//! ferrosocket-web: a reconnecting heartbeat WebSocket for browsers.
//!
//! The browser's own `WebSocket` moves the bytes; the [`ferrosocket_core::session::Session`]
//! decides when to connect, ping, give up and flush. This crate only wires the two together
//! with timers and browser events:
//!
//! - [`ReconnectingSocket`] / [`WebSocket`]: a Rust `Stream` + `Sink` API for Rust web apps.
//! - `ReconnectingWebSocket`, the JS class of `pkg/` shaped like `WebSocket`, is
//!   `js/reconnecting-websocket.js` over the wasm module of `crates/web/link` (the session
//!   behind a numeric ABI, without wasm-bindgen); it does not use this crate.

mod driver;
mod stream;
mod sys;

pub use driver::Output;
pub use ferrosocket_core::session::{
    Config, DropReason, EndReason, Heartbeat, HeartbeatMode, Message, Overflow, QueueConfig,
    SendError, State,
};
pub use stream::{Event, ReconnectingSocket, WebSocket};
