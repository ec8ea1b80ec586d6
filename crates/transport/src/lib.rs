//! Rust-owned WebSocket server sockets, driven by readiness: "Transport B" of the
//! design. No threads, no runtime and no event loop of its own: the caller owns the
//! readiness source (Node's libuv loop in `crates/node`, a `poll(2)` loop in the tests)
//! and tells a [`Server`] what became ready; the server does the non-blocking syscalls,
//! runs the core (`ferrosocket-core`: the sans-IO [`Acceptor`] for the HTTP upgrade,
//! then a [`Connection`] per WebSocket) and collects what happened as [`Event`]s, one
//! batch per call.
//!
//! * Sockets: one listener ([`Server::bind`]) and a connection table (a slab); each
//!   socket is registered with the caller's [`Poller`] under a [`Token`] and its
//!   [`Interest`] is kept current (read unless paused; write only while the kernel
//!   refused part of the output).
//! * One shared read buffer for every connection: a read lands there, the core
//!   parses it in place, and message payloads are handed out as ranges of it
//!   ([`Payload::Read`]). Reads of several readinesses may accumulate there before the
//!   caller takes their events (one hand-over per loop turn); the ranges stay valid
//!   until the next read after that. An idle connection holds no buffer.
//! * Writes are corked: sends queue frames in the core's send queue and mark the
//!   connection; [`Server::flush`] writes each marked connection with one vectored
//!   write. What the kernel does not take stays queued and leaves on writability.
//! * Timers are deadlines (the handshake timeout, the core's close timeout) in one heap,
//!   swept by [`Server::on_timeout`] at [`Server::next_deadline`]; the clock is the
//!   caller's (milliseconds).
//! * permessage-deflate: offers are answered with [`Server::negotiate_deflate`]; the
//!   zlib work of large messages comes out as [`Job`]s ([`Server::take_jobs`]) for the
//!   caller to run off its thread and hand back ([`Server::finish_job`]), for every
//!   connection of the table (accepted or adopted).
//!
//! [`Acceptor`]: ferrosocket_core::handshake::Acceptor
//! [`Connection`]: ferrosocket_core::Connection

mod config;
mod deadlines;
mod event;
mod poller;
mod server;
mod slot;
mod work;

pub use config::TransportConfig;
pub use event::{Event, Payload};
pub use poller::{Interest, Poller, Token};
pub use server::{PeerInfo, Server};
pub use work::Job;
