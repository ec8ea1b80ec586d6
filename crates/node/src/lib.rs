//! Node addon for ferrosocket (napi-rs), "Transport A" of the design: Node owns the
//! socket, this addon owns nothing but a `ferrosocket_core::Connection` per WebSocket.
//!
//! * [`engine::Engine`]: one per WebSocket. `feed(chunk)` parses a received chunk in one
//!   call and returns every event of it; `send`/`ping`/`pong`/`close` append framed bytes
//!   to an output buffer that JS takes once per flush (`takeOutput`).
//! * [`handshake`]: the core's handshake state machines with ws's rules — request and
//!   response checks, subprotocol and permessage-deflate negotiation, the `101` — every
//!   protocol decision of the opening handshake.
//!
//! * [`topics::TopicTable`]: the core's pub/sub topic table, one per server.
//!
//! The JS façade (`npm/lib/*.js`) never decides a protocol question itself.

pub mod ack;
pub mod engine;
pub mod error;
pub mod extensions;
pub mod handshake;
pub mod native;
pub mod offload;
mod session;
pub mod topics;
