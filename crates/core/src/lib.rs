#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub mod close;
#[cfg(feature = "deflate")]
mod codec;
mod cold;
mod config;
mod connection;
// Without `deflate` nothing is offloaded, so nothing ever waits there.
#[cfg_attr(not(feature = "deflate"), allow(dead_code))]
mod deferred;
pub mod deflate;
pub mod deflate_negotiation;
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
mod spare_buffers;
pub mod topics;
#[doc(hidden)]
/// UTF-8 kernel, public for the benchmarks and fuzz targets only.
pub mod utf8;
pub mod ws;

#[cfg(feature = "deflate")]
pub use codec::{DeflateJob, InflateJob};
pub use config::{Config, Role, BACKPRESSURE_CLOSE_CODE};
pub use connection::{
    Connection, Delivery, FrameSpec, PreparedMessage, SendOptions, SendStatus, State,
};
pub use error::{Error, ProtocolError, UsageError};
pub use event::{DataKind, Event, OwnedEvent};
pub use lifecycle::{DestroyReason, TransportAction};
pub use spare_buffers::{recycle_buffer, MIN_CAPACITY as SPARE_BUFFER_MIN};
