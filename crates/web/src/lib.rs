//! ferrosocket-web: a reconnecting heartbeat WebSocket for browsers.
//!
//! The browser's own `WebSocket` moves the bytes; the [`ferrosocket_core::session::Session`]
//! decides when to connect, ping, give up and flush. This crate only wires the two together
//! with timers and browser events:
//!
//! - [`js::ReconnectingWebSocket`]: the JS class (exported to `pkg/`), shaped like `WebSocket`.
//! - [`ReconnectingSocket`] / [`WebSocket`]: a Rust `Stream` + `Sink` API for Rust web apps.

mod driver;
pub mod js;
mod options;
mod stream;
mod sys;

pub use driver::Output;
pub use ferrosocket_core::session::{
    Config, DropReason, EndReason, Heartbeat, HeartbeatMode, Message, Overflow, QueueConfig,
    SendError, State,
};
pub use stream::{Event, ReconnectingSocket, WebSocket};
