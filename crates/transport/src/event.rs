//! What a call to the server reports, in order.

use std::ops::Range;

use ferrosocket_core::{DataKind, ProtocolError};

use crate::Token;

/// Where a payload's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// A range of [`Server::batch_data`](crate::Server::batch_data) (unmasked in
    /// place): valid until the server reads again after the events were taken.
    Read(Range<usize>),
    /// Bytes that did not lie in this read (a message assembled across reads, or one
    /// that arrived with the handshake).
    Owned(Vec<u8>),
}

/// Something that happened on one of the server's sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A complete, checked upgrade request waits for the application's answer
    /// ([`Server::request`](crate::Server::request), then
    /// [`accept`](crate::Server::accept) or [`reject`](crate::Server::reject)). The
    /// connection is not read meanwhile.
    Request(Token),
    /// A connection that was waiting for an answer to its request went away.
    RequestAborted(Token),
    /// An upgrade request failed the checks and waits for the caller (only with
    /// `TransportConfig::refused_to_caller`): [`Server::refused`](crate::Server::refused)
    /// tells what and why; then [`reject`](crate::Server::reject) with the error, or
    /// [`refuse_raw`](crate::Server::refuse_raw) to write the answer itself.
    Refused(Token),
    /// A whole message.
    Message {
        /// The connection.
        token: Token,
        /// Text (UTF-8 checked unless validation is off) or binary.
        kind: DataKind,
        /// The payload.
        data: Payload,
    },
    /// A ping (already answered when the connection's `auto_pong` is on).
    Ping(Token, Payload),
    /// A pong.
    Pong(Token, Payload),
    /// The next event is a binary message that came in more than one non-empty frame:
    /// each frame's end offset in it (ws's `binaryType = 'fragments'`).
    FrameEnds(Token, Vec<usize>),
    /// The peer's close frame; the echo is queued with the next output.
    CloseFrame(Token),
    /// The peer broke the protocol: the close frame with the error's code is queued.
    Error(Token, ProtocolError),
    /// Everything queued on the connection was written (asked for with
    /// [`Server::notify_drain`](crate::Server::notify_drain)).
    Drained(Token),
    /// The socket was closed; the token is dead. `code`/`reason`: what the application
    /// is told (the peer's close status, 1005 without a code, else 1006).
    Closed {
        /// The connection.
        token: Token,
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
        /// Both close frames were exchanged (`wasClean`).
        clean: bool,
        /// Bytes read from and written to the socket over its life.
        bytes_read: u64,
        /// See `bytes_read`.
        bytes_written: u64,
    },
}
