//! `ferrosocket-core`: a sans-IO WebSocket engine (RFC 6455) with permessage-deflate
//! (RFC 7692) and a reconnecting heartbeat session.
//!
//! No sockets, no runtime, no timers: the caller feeds received bytes to a
//! [`Connection`], writes what it puts in [`Connection::output`], and tells it the time
//! when [`Connection::poll_deadline`] asks. The connection decides the whole lifecycle —
//! close handshake, automatic pongs and their bound, close timeout, when the transport
//! may be ended ([`TransportAction`]) — so a transport only moves bytes, time and events.
//!
//! ```
//! use ferrosocket_core::{Connection, Config, Event, Role, TransportAction};
//!
//! let mut server = Connection::new(Role::Server, Config::default());
//! let mut client = Connection::new(Role::Client, Config::default());
//! client.send_text("hello").unwrap();
//! client.close(Some(1000), "bye").unwrap();
//! let mut got = Vec::new();
//! let wire = client.take_output();
//! server.feed(&wire, |e| if let Event::Text(t) = e { got.push(t.to_string()) }).unwrap();
//! assert_eq!(got, ["hello"]);
//! // The server owes the close reply; once written, both sides end the transport.
//! client.feed(&server.take_output(), |_| {}).unwrap();
//! assert_eq!(server.transport_action(), TransportAction::End);
//! assert_eq!(client.transport_action(), TransportAction::End);
//! assert_eq!(client.close_status(), (1000, "bye"));
//! ```

#![warn(missing_docs)]

pub mod close;
mod config;
mod connection;
pub mod deflate;
mod error;
mod event;
pub mod extension;
mod frame;
pub mod handshake;
pub mod keepalive;
mod lifecycle;
#[doc(hidden)]
/// Masking kernel, public for the benchmarks and fuzz targets only.
pub mod mask;
mod recv;
mod rng;
mod send_queue;
pub mod session;
#[doc(hidden)]
/// UTF-8 kernel, public for the benchmarks and fuzz targets only.
pub mod utf8;
pub mod ws;

pub use config::{Config, Role};
pub use connection::{Connection, FrameSpec, PreparedMessage, SendOptions, SendStatus, State};
pub use error::{Error, ProtocolError, UsageError};
pub use event::{DataKind, Event, OwnedEvent};
pub use lifecycle::{DestroyReason, TransportAction};
