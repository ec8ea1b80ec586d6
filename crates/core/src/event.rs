//! What the peer sent, as the caller receives it.

/// A data message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Binary data (opcode 0x2).
    Binary,
}

/// Something the peer sent. Borrowed from the connection's buffers (or the caller's, with
/// [`feed_mut`](crate::Connection::feed_mut)), valid during the callback; see
/// [`OwnedEvent`] for an owned copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A whole text message, UTF-8 checked.
    Text(&'a str),
    /// Text that was not checked because `validate_utf8` is off.
    UncheckedText(&'a [u8]),
    /// A whole binary message.
    Binary(&'a [u8]),
    /// A ping (already answered when `auto_pong` is on).
    Ping(&'a [u8]),
    /// A pong.
    Pong(&'a [u8]),
    /// The next event is a binary message that came in more than one non-empty frame:
    /// the end offset of each such frame's payload in it (uncompressed messages only;
    /// only with [`Config::report_fragments`](crate::Config::report_fragments)).
    FrameEnds(&'a [usize]),
    /// The peer's close frame; `code` is `None` when it carried no status (ws: 1005).
    Close {
        /// The status code, if any.
        code: Option<u16>,
        /// The reason (UTF-8 checked).
        reason: &'a str,
    },
}

/// An owned [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedEvent {
    /// See [`Event::Text`].
    Text(String),
    /// See [`Event::UncheckedText`].
    UncheckedText(Vec<u8>),
    /// See [`Event::Binary`].
    Binary(Vec<u8>),
    /// See [`Event::Ping`].
    Ping(Vec<u8>),
    /// See [`Event::Pong`].
    Pong(Vec<u8>),
    /// See [`Event::FrameEnds`].
    FrameEnds(Vec<usize>),
    /// See [`Event::Close`].
    Close {
        /// The status code, if any.
        code: Option<u16>,
        /// The reason.
        reason: String,
    },
}

impl Event<'_> {
    /// Copies the event out of the connection's buffers.
    pub fn to_owned(&self) -> OwnedEvent {
        match *self {
            Event::Text(t) => OwnedEvent::Text(t.to_string()),
            Event::UncheckedText(b) => OwnedEvent::UncheckedText(b.to_vec()),
            Event::Binary(b) => OwnedEvent::Binary(b.to_vec()),
            Event::Ping(b) => OwnedEvent::Ping(b.to_vec()),
            Event::Pong(b) => OwnedEvent::Pong(b.to_vec()),
            Event::FrameEnds(e) => OwnedEvent::FrameEnds(e.to_vec()),
            Event::Close { code, reason } => OwnedEvent::Close {
                code,
                reason: reason.to_string(),
            },
        }
    }
}
