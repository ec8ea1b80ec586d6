//! `ferrosocket-core`: a sans-IO WebSocket engine (RFC 6455) with permessage-deflate
//! (RFC 7692) and a reconnecting heartbeat session.
//!
//! No sockets, no runtime, no timers: the caller feeds received bytes to a
//! [`Connection`] and writes what it puts in [`Connection::output`].
//!
//! ```
//! use ferrosocket_core::{Connection, Config, Event, Role};
//!
//! let mut server = Connection::new(Role::Server, Config::default());
//! let mut client = Connection::new(Role::Client, Config::default());
//! client.send_text("hello").unwrap();
//! let mut got = Vec::new();
//! server.feed(client.output(), |e| if let Event::Text(t) = e { got.push(t.to_string()) }).unwrap();
//! assert_eq!(got, ["hello"]);
//! ```

pub mod close;
#[cfg(test)]
mod conformance_tests;
pub mod deflate;
mod error;
pub mod extension;
pub mod frame;
pub mod handshake;
pub mod keepalive;
pub mod mask;
mod protocol;
mod recv;
mod rng;
pub mod session;
pub mod utf8;

pub use error::Error;
pub use protocol::{Config, Connection, DataKind, Event, OwnedEvent, Role, SendOptions, State};
