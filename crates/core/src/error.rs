//! What the engine rejects, in two kinds that never mix:
//! - [`ProtocolError`]: the peer broke RFC 6455/7692. It carries the close code that was
//!   queued for the peer (RFC 6455 §7.4.1) and fails the connection.
//! - [`UsageError`]: the local caller asked for something impossible (sending after
//!   close, a 126-byte ping, an invalid close code). Nothing is sent; the connection is
//!   unchanged.
//!
//! Both know the `ws` error-code name, message and JavaScript class, so every binding
//! reports errors the way `ws` does without knowing any framing rule; [`crate::ws`]
//! holds the rest of what is `ws`-specific.

use std::fmt;

/// A violation of the protocol by the peer. The close frame with
/// [`close_code`](ProtocolError::close_code) has been queued and the connection is failed (RFC 6455 §7.1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// RSV1 set without a negotiated extension, or on a control/continuation frame (§5.2).
    Rsv1Set,
    /// RSV2 or RSV3 set (§5.2: no extension defines them).
    Rsv23Set,
    /// A reserved opcode, or a continuation/data frame out of sequence (§5.2, §5.4).
    InvalidOpcode(u8),
    /// A control frame without FIN (§5.5).
    FragmentedControl,
    /// A control frame payload over 125 bytes, or a 1-byte close payload (§5.5, §5.5.1).
    InvalidControlLength(u64),
    /// A server received an unmasked frame (§5.1).
    ExpectedMask,
    /// A client received a masked frame (§5.1).
    UnexpectedMask,
    /// A 64-bit length with the most significant bit set (§5.2), or one no platform can hold.
    UnsupportedLength,
    /// The message, a frame, or the inflated payload exceeds the configured limit.
    MessageTooBig,
    /// More fragments in one message than the configured limit (policy: 1008, as `ws`).
    TooManyFragments,
    /// A frame step trickled in over more chunks than the configured limit (1008, as
    /// `ws`'s `maxBufferedChunks`).
    TooManyBufferedChunks,
    /// Text payload or close reason is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A close frame carries a status code that may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// Compressed data that does not inflate (RFC 7692 §6.2).
    InvalidCompressedData(String),
}

impl ProtocolError {
    /// The close code sent to the peer (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData(_) => 1007,
            ProtocolError::UnsupportedLength | ProtocolError::MessageTooBig => 1009,
            ProtocolError::TooManyFragments | ProtocolError::TooManyBufferedChunks => 1008,
            _ => 1002,
        }
    }

    /// The `code` property `ws` puts on the matching error.
    pub fn ws_code(&self) -> &'static str {
        match self {
            ProtocolError::Rsv1Set => "WS_ERR_UNEXPECTED_RSV_1",
            ProtocolError::Rsv23Set => "WS_ERR_UNEXPECTED_RSV_2_3",
            ProtocolError::InvalidOpcode(_) => "WS_ERR_INVALID_OPCODE",
            ProtocolError::FragmentedControl => "WS_ERR_EXPECTED_FIN",
            ProtocolError::InvalidControlLength(_) => "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
            ProtocolError::ExpectedMask => "WS_ERR_EXPECTED_MASK",
            ProtocolError::UnexpectedMask => "WS_ERR_UNEXPECTED_MASK",
            ProtocolError::UnsupportedLength => "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
            ProtocolError::MessageTooBig => "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
            ProtocolError::TooManyFragments | ProtocolError::TooManyBufferedChunks => {
                "WS_ERR_TOO_MANY_BUFFERED_PARTS"
            }
            ProtocolError::InvalidUtf8 => "WS_ERR_INVALID_UTF8",
            ProtocolError::InvalidCloseCode(_) => "WS_ERR_INVALID_CLOSE_CODE",
            ProtocolError::InvalidCompressedData(_) => "Z_DATA_ERROR",
        }
    }

    /// The JavaScript error class `ws` uses for this error.
    pub fn js_class(&self) -> &'static str {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidCompressedData(_) => "Error",
            _ => "RangeError",
        }
    }
}

impl fmt::Display for ProtocolError {
    // The texts are `ws`'s, so the Node façade can pass them through unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const P: &str = "Invalid WebSocket frame: ";
        match self {
            ProtocolError::Rsv1Set => write!(f, "{P}RSV1 must be clear"),
            ProtocolError::Rsv23Set => write!(f, "{P}RSV2 and RSV3 must be clear"),
            ProtocolError::InvalidOpcode(op) => write!(f, "{P}invalid opcode {op}"),
            ProtocolError::FragmentedControl => write!(f, "{P}FIN must be set"),
            ProtocolError::InvalidControlLength(n) => write!(f, "{P}invalid payload length {n}"),
            ProtocolError::ExpectedMask => write!(f, "{P}MASK must be set"),
            ProtocolError::UnexpectedMask => write!(f, "{P}MASK must be clear"),
            ProtocolError::UnsupportedLength => {
                write!(f, "Unsupported WebSocket frame: payload length > 2^53 - 1")
            }
            ProtocolError::MessageTooBig => write!(f, "Max payload size exceeded"),
            ProtocolError::TooManyFragments => write!(f, "Too many message fragments"),
            ProtocolError::TooManyBufferedChunks => write!(f, "Too many buffered chunks"),
            ProtocolError::InvalidUtf8 => write!(f, "{P}invalid UTF-8 sequence"),
            ProtocolError::InvalidCloseCode(c) => write!(f, "{P}invalid status code {c}"),
            ProtocolError::InvalidCompressedData(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for ProtocolError {}

/// A request the connection cannot carry out; nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UsageError {
    /// Sending after this side's close frame was queued, or after the connection failed.
    NotOpen,
    /// A control payload over 125 bytes (RFC 6455 §5.5).
    ControlTooLong,
    /// A close reason over 123 bytes (RFC 6455 §5.5.1: 125 minus the code).
    ReasonTooLong,
    /// A close code that may not be sent (RFC 6455 §7.4), or a reason without a code.
    InvalidCloseCode(u16),
    /// A data frame of the other kind in the middle of a fragmented message.
    FragmentKindMismatch,
    /// A prepared (shared, unmasked) frame queued on a client connection, which must
    /// mask every frame (RFC 6455 §5.1).
    PreparedFrameOnClient,
    /// A reserved opcode asked for (RFC 6455 §5.2).
    InvalidOpcode(u8),
    /// The message would take the send queue past `Config::max_backpressure`: it was
    /// not queued (with `close_on_backpressure_limit`, the close handshake started).
    BackpressureLimit,
}

impl UsageError {
    /// The `code` this binding's errors carry (`ws` throws plain errors for these).
    pub fn ws_code(&self) -> &'static str {
        match self {
            UsageError::NotOpen => "ERR_WS_NOT_OPEN",
            UsageError::ControlTooLong => "ERR_WS_CONTROL_TOO_LONG",
            UsageError::ReasonTooLong => "ERR_WS_REASON_TOO_LONG",
            UsageError::InvalidCloseCode(_) => "ERR_WS_INVALID_CLOSE_CODE",
            UsageError::FragmentKindMismatch => "ERR_WS_FRAGMENT_KIND",
            UsageError::PreparedFrameOnClient => "ERR_WS_PREPARED_FRAME_ON_CLIENT",
            UsageError::InvalidOpcode(_) => "ERR_WS_INVALID_OPCODE",
            UsageError::BackpressureLimit => "ERR_WS_BACKPRESSURE_LIMIT",
        }
    }

    /// The JavaScript error class `ws` throws for this misuse.
    pub fn js_class(&self) -> &'static str {
        match self {
            UsageError::ControlTooLong | UsageError::ReasonTooLong => "RangeError",
            UsageError::InvalidCloseCode(_)
            | UsageError::FragmentKindMismatch
            | UsageError::InvalidOpcode(_) => "TypeError",
            UsageError::NotOpen
            | UsageError::PreparedFrameOnClient
            | UsageError::BackpressureLimit => "Error",
        }
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UsageError::NotOpen => write!(f, "WebSocket is not open"),
            UsageError::ControlTooLong => {
                write!(f, "The data size must not be greater than 125 bytes")
            }
            UsageError::ReasonTooLong => {
                write!(f, "The message must not be greater than 123 bytes")
            }
            UsageError::InvalidCloseCode(_) => {
                write!(f, "First argument must be a valid error code number")
            }
            UsageError::FragmentKindMismatch => write!(
                f,
                "A fragmented message must keep the type of its first frame"
            ),
            UsageError::PreparedFrameOnClient => {
                write!(
                    f,
                    "A client must mask its frames: prepared frames are server-only"
                )
            }
            UsageError::InvalidOpcode(op) => write!(f, "Invalid opcode {op}"),
            UsageError::BackpressureLimit => write!(
                f,
                "The message was dropped: the send queue is over maxBackpressure"
            ),
        }
    }
}

impl std::error::Error for UsageError {}

/// Either kind, for callers that handle both with one `?`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer broke the protocol.
    Protocol(ProtocolError),
    /// The local caller misused the connection.
    Usage(UsageError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Protocol(e) => e.fmt(f),
            Error::Usage(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Protocol(e) => Some(e),
            Error::Usage(e) => Some(e),
        }
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::Protocol(e)
    }
}

impl From<UsageError> for Error {
    fn from(e: UsageError) -> Self {
        Error::Usage(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc6455_7_4_1() {
        assert_eq!(ProtocolError::InvalidUtf8.close_code(), 1007);
        assert_eq!(ProtocolError::MessageTooBig.close_code(), 1009);
        assert_eq!(ProtocolError::InvalidOpcode(3).close_code(), 1002);
        assert_eq!(
            ProtocolError::InvalidOpcode(3).ws_code(),
            "WS_ERR_INVALID_OPCODE"
        );
        assert_eq!(
            ProtocolError::InvalidOpcode(3).to_string(),
            "Invalid WebSocket frame: invalid opcode 3"
        );
    }

    #[test]
    fn too_many_fragments_is_a_policy_violation_as_in_ws() {
        // ws 8.21+: 1008 / WS_ERR_TOO_MANY_BUFFERED_PARTS / RangeError.
        let e = ProtocolError::TooManyFragments;
        assert_eq!(
            (e.close_code(), e.ws_code(), e.js_class()),
            (1008, "WS_ERR_TOO_MANY_BUFFERED_PARTS", "RangeError")
        );
        assert_eq!(e.to_string(), "Too many message fragments");
    }

    #[test]
    fn usage_errors_carry_no_close_code_and_wrap_into_error() {
        let e: Error = UsageError::NotOpen.into();
        assert_eq!(e.to_string(), "WebSocket is not open");
        assert_eq!(UsageError::InvalidCloseCode(5).js_class(), "TypeError");
    }
}
