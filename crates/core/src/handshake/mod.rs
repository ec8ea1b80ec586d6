//! The opening handshake (RFC 6455 §4) as a sans-IO state machine per role.
//!
//! * Server: an [`Acceptor`] takes what the socket read, cut anywhere, until the request
//!   head is complete and checked. It then hands out an [`Incoming`] request: the decision
//!   point where the application routes, picks a subprotocol, negotiates
//!   permessage-deflate, adds response headers, or rejects with a status.
//!   [`Incoming::accept`] gives an [`Established`] handshake: the `101` response to write
//!   and the bytes that followed the head, from which [`Established::connection`] makes
//!   the [`Connection`].
//! * Client: a [`Connector`] builds the request from [`ClientOptions`], then takes the
//!   response bytes, cut anywhere, until the `101` is complete and checked →
//!   [`Established`].
//!
//! A head parsed elsewhere (Node's HTTP parser) enters through [`Acceptor::validate`] and
//! [`Connector::validate`] and is checked by the same code.
//!
//! Checks run in `ws` 8.x's order, so both report the same first problem; RFC 6455's
//! further server checks (`Host`, `Connection`) are on by default and switchable
//! ([`AcceptorConfig`]). Heads are parsed by `httparse` with their header count and size
//! bounded before anything is kept for them, and every header name and value a caller
//! supplies is checked against RFC 7230 §3.2 ([`HeaderError`]) so nothing can be injected
//! into a head.

#![deny(missing_docs)]

mod acceptor;
mod connector;
mod fields;
mod head;
mod wire;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::fmt;
use std::sync::Arc;

pub use acceptor::{Acceptor, AcceptorConfig, Incoming, Request, RequestHead};
pub use connector::{ClientOptions, Connector};
pub use fields::{is_token, HeaderError};

use crate::deflate::DeflateParams;
#[cfg(feature = "deflate")]
use crate::Connection;
use crate::{Config, Role};

/// RFC 6455 §1.3: the GUID appended to the client's key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a client key (RFC 6455 §1.3, §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut out = [0u8; 28];
    let n = accept_key_into(key, &mut out);
    String::from_utf8_lossy(&out[..n]).into_owned()
}

/// Writes the accept key's 28 base64 characters into `out`; returns their count.
fn accept_key_into(key: &str, out: &mut [u8; 28]) -> usize {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(GUID.as_bytes());
    // 20 digest bytes always encode to exactly 28 characters.
    B64.encode_slice(h.finalize(), out).unwrap_or(0)
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (RFC 6455 §4.1).
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    crate::rng::fill(&mut nonce);
    B64.encode(nonce)
}

/// Bounds on a handshake's HTTP head (what CVE-2024-37890 and CVE-2021-32640 abused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most header fields a head may have (64 by default).
    pub max_headers: usize,
    /// Most bytes a head may take, up to and including its empty line (16 KiB by default).
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 64,
            max_header_bytes: 16 * 1024,
        }
    }
}

/// A failed handshake: the HTTP status (the server answers with it; on the client, the
/// status the server sent) and `ws`'s message for the first check that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeError {
    /// HTTP status: 400, 405, 426, 431, … on the server; the response's status on the
    /// client (0 when the response's status line could not be read).
    pub status: u16,
    /// What went wrong, in `ws`'s words where `ws` has them.
    pub message: String,
    /// Extra response headers, already checked (e.g. `Sec-WebSocket-Version` with a 426).
    headers: Vec<(String, String)>,
    /// The body's media type (`text/html`, as `ws` writes its refusals, unless set).
    content_type: &'static str,
    /// The connection stays open for the next request after this answer (a plain
    /// HTTP request's 426, as Node's HTTP server keeps it alive).
    keep_alive: bool,
}

impl HandshakeError {
    /// An error with a status and a message, without extra headers.
    pub fn new(status: u16, message: &str) -> Self {
        HandshakeError {
            status,
            message: message.to_string(),
            headers: Vec::new(),
            content_type: "text/html",
            keep_alive: false,
        }
    }

    /// The same error answered with `Connection: keep-alive` (see
    /// [`keeps_alive`](Self::keeps_alive)).
    pub(crate) fn kept_alive(mut self) -> Self {
        self.keep_alive = true;
        self
    }

    /// The connection stays open for another request once this answer is written
    /// (`Connection: keep-alive`, `Keep-Alive: timeout=5` as Node writes them); the
    /// next request is read with a fresh [`Acceptor`] within
    /// [`ws::KEEP_ALIVE_TIMEOUT_MS`](crate::ws::KEEP_ALIVE_TIMEOUT_MS). Otherwise
    /// (every refusal of an upgrade) the answer says `Connection: close`.
    pub fn keeps_alive(&self) -> bool {
        self.keep_alive
    }

    /// The same error with another body media type (e.g. `text/plain`).
    pub fn with_content_type(mut self, content_type: &'static str) -> Self {
        self.content_type = content_type;
        self
    }

    /// The body's media type.
    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// Adds a header to the error response, checked like every caller-supplied header.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self, HeaderError> {
        fields::check_header(name, value)?;
        self.headers.push((name.to_string(), value.to_string()));
        Ok(self)
    }

    /// The extra headers of the error response.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The HTTP response a server answers with before closing the connection, as `ws`
    /// writes it (`Connection: close` unless it [`keeps_alive`](Self::keeps_alive), the
    /// message as an HTML body). A status outside
    /// 100–999 is written as 500: it could not be a status line otherwise.
    pub fn response(&self) -> Vec<u8> {
        wire::error_response(self)
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandshakeError {}

/// A completed opening handshake, in either role: what was agreed and what to do next.
///
/// Write [`response`](Self::response) (a server's `101`; empty on a client) before any
/// frame, then feed [`leftover`](Self::leftover) (the bytes that followed the head in the
/// same reads: frames the peer sent at once) to the connection before the next read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Established {
    /// The bytes to write first: the server's `101 Switching Protocols`; empty on a client.
    pub response: Vec<u8>,
    /// Bytes received after the head; they belong to the WebSocket connection.
    pub leftover: Vec<u8>,
    /// The subprotocol in effect (RFC 6455 §4.2.2 /subprotocol/), if any.
    pub protocol: Option<String>,
    /// The `Sec-WebSocket-Extensions` value of the response, if it had one.
    pub extensions: Option<String>,
    /// The permessage-deflate parameters agreed on, if any (RFC 7692 §7.1).
    pub deflate: Option<DeflateParams>,
    role: Role,
}

impl Established {
    /// Which side of the connection this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection the handshake opened, with the agreed permessage-deflate
    /// parameters (without the `deflate` feature nothing is ever agreed). Pass an
    /// `Arc<Config>` to share one configuration among a server's connections.
    pub fn connection(&self, config: impl Into<Arc<Config>>) -> crate::Connection {
        #[cfg(feature = "deflate")]
        {
            Connection::with_deflate(self.role, config, self.deflate)
        }
        #[cfg(not(feature = "deflate"))]
        {
            crate::Connection::new(self.role, config)
        }
    }
}

#[cfg(test)]
mod tests;
