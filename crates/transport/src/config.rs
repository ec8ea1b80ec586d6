//! How a transport server reads handshakes and runs connections.

use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::handshake::AcceptorConfig;
use ferrosocket_core::{ws, Config};

/// Settings of a [`Server`](crate::Server).
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// How upgrade requests are read and checked; `ws`'s own server by default
    /// (bounded heads, `426` for plain HTTP requests).
    pub acceptor: AcceptorConfig,
    /// Each WebSocket's limits and behaviour (`ws`'s defaults). Its
    /// `offload_deflate_min` / `offload_inflate_min` decide which messages become
    /// [`Job`](crate::Job)s; `usize::MAX` for both keeps all zlib work inline.
    pub connection: Config,
    /// permessage-deflate (RFC 7692) as the server accepts it, for
    /// [`Server::negotiate_deflate`](crate::Server::negotiate_deflate); `None`: offers
    /// are ignored (ws's `perMessageDeflate: false`).
    pub deflate: Option<DeflateConfig>,
    /// Milliseconds from accept to a complete request head; past it the connection
    /// gets `408` and is closed (slowloris). Node's `server.headersTimeout` default.
    pub handshake_timeout: u64,
    /// Most bytes read from a socket at once (into the one buffer shared by every
    /// connection).
    pub read_buffer: usize,
    /// Payload bytes of pending events past which a caller that lets readinesses
    /// accumulate should take them (bounds the shared buffer).
    pub batch_limit: usize,
    /// Payload bytes from which [`Server::send`](crate::Server::send) writes a message
    /// at once instead of queuing it for the batch's one write: a copy of a large
    /// payload costs more than a system call of its own (uWebSockets' cork buffer is
    /// 16 KiB for the same reason).
    pub write_through_min: usize,
    /// Payload bytes still to come of a frame from which the socket is read straight
    /// into the message the core assembles, not into the shared buffer (which would
    /// cost a copy of every byte of a large message).
    pub read_into_message_min: usize,
    /// Connections accepted per listener readiness before others get their turn.
    pub accept_batch: usize,
    /// Listen backlog (Node's default).
    pub backlog: i32,
    /// An upgrade request that fails the acceptor's checks is handed to the caller
    /// ([`Event::Refused`](crate::Event::Refused)) instead of answered at once, so that
    /// it can answer it itself (ws's `'wsClientError'`).
    pub refused_to_caller: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            acceptor: ws::port_acceptor_config(),
            connection: ws::config(),
            deflate: None,
            handshake_timeout: 60_000,
            read_buffer: 256 * 1024,
            batch_limit: 1024 * 1024,
            write_through_min: 16 * 1024,
            read_into_message_min: 64 * 1024,
            accept_batch: 128,
            backlog: 511,
            refused_to_caller: false,
        }
    }
}
