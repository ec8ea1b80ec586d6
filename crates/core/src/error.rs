//! One error type for everything the engine rejects. Each variant knows the close code
//! to send (RFC 6455 §7.4.1) and the `ws` error-code name, so every binding reports
//! errors the way `ws` does without knowing any framing rule.

use std::fmt;

use crate::handshake::HandshakeError;

/// Errors raised by [`crate::Connection`] (peer violations and local misuse) and by the
/// handshake helpers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
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
    /// More fragments in one message than the configured limit.
    TooManyFragments,
    /// Text payload or close reason is not valid UTF-8 (§8.1).
    InvalidUtf8,
    /// A close frame carries a status code that may not be sent (§7.4).
    InvalidCloseCode(u16),
    /// Compressed data that does not inflate (RFC 7692 §6.2).
    InvalidCompressedData(String),
    /// Local misuse: sending after a close frame was sent.
    NotOpen,
    /// Local misuse: a control payload over 125 bytes.
    ControlTooLong,
    /// Local misuse: a close reason over 123 bytes.
    ReasonTooLong,
    /// Local misuse: a close code that may not be sent.
    InvalidCloseCodeArg(u16),
    /// Local misuse: a data frame of the other kind in the middle of a fragmented message.
    FragmentKindMismatch,
    /// The opening handshake failed.
    Handshake(HandshakeError),
}

impl Error {
    /// The close code to send to the peer (RFC 6455 §7.4.1).
    pub fn close_code(&self) -> u16 {
        match self {
            Error::InvalidUtf8 | Error::InvalidCompressedData(_) => 1007,
            Error::UnsupportedLength | Error::MessageTooBig | Error::TooManyFragments => 1009,
            Error::NotOpen
            | Error::ControlTooLong
            | Error::ReasonTooLong
            | Error::InvalidCloseCodeArg(_)
            | Error::FragmentKindMismatch => 1000,
            Error::Handshake(_) => 1002,
            _ => 1002,
        }
    }

    /// The `code` property `ws` puts on the matching error.
    pub fn ws_code(&self) -> &'static str {
        match self {
            Error::Rsv1Set => "WS_ERR_UNEXPECTED_RSV_1",
            Error::Rsv23Set => "WS_ERR_UNEXPECTED_RSV_2_3",
            Error::InvalidOpcode(_) => "WS_ERR_INVALID_OPCODE",
            Error::FragmentedControl => "WS_ERR_EXPECTED_FIN",
            Error::InvalidControlLength(_) => "WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH",
            Error::ExpectedMask => "WS_ERR_EXPECTED_MASK",
            Error::UnexpectedMask => "WS_ERR_UNEXPECTED_MASK",
            Error::UnsupportedLength => "WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH",
            Error::MessageTooBig | Error::TooManyFragments => "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH",
            Error::InvalidUtf8 => "WS_ERR_INVALID_UTF8",
            Error::InvalidCloseCode(_) => "WS_ERR_INVALID_CLOSE_CODE",
            Error::InvalidCompressedData(_) => "Z_DATA_ERROR",
            Error::NotOpen => "ERR_WS_NOT_OPEN",
            Error::ControlTooLong => "ERR_WS_CONTROL_TOO_LONG",
            Error::ReasonTooLong => "ERR_WS_REASON_TOO_LONG",
            Error::InvalidCloseCodeArg(_) => "ERR_WS_INVALID_CLOSE_CODE",
            Error::FragmentKindMismatch => "ERR_WS_FRAGMENT_KIND",
            Error::Handshake(_) => "ERR_WS_HANDSHAKE",
        }
    }

    /// The JavaScript error class `ws` uses for this error.
    pub fn js_class(&self) -> &'static str {
        match self {
            Error::Rsv1Set
            | Error::Rsv23Set
            | Error::InvalidOpcode(_)
            | Error::FragmentedControl
            | Error::InvalidControlLength(_)
            | Error::ExpectedMask
            | Error::UnexpectedMask
            | Error::UnsupportedLength
            | Error::MessageTooBig
            | Error::TooManyFragments
            | Error::InvalidCloseCode(_)
            | Error::ControlTooLong
            | Error::ReasonTooLong => "RangeError",
            Error::InvalidCloseCodeArg(_) | Error::FragmentKindMismatch => "TypeError",
            _ => "Error",
        }
    }

    /// True when the peer broke the protocol (as opposed to a local misuse).
    pub fn is_protocol_violation(&self) -> bool {
        !matches!(
            self,
            Error::NotOpen
                | Error::ControlTooLong
                | Error::ReasonTooLong
                | Error::InvalidCloseCodeArg(_)
                | Error::FragmentKindMismatch
                | Error::Handshake(_)
        )
    }
}

impl fmt::Display for Error {
    // The texts are `ws`'s, so the Node façade can pass them through unchanged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const P: &str = "Invalid WebSocket frame: ";
        match self {
            Error::Rsv1Set => write!(f, "{P}RSV1 must be clear"),
            Error::Rsv23Set => write!(f, "{P}RSV2 and RSV3 must be clear"),
            Error::InvalidOpcode(op) => write!(f, "{P}invalid opcode {op}"),
            Error::FragmentedControl => write!(f, "{P}FIN must be set"),
            Error::InvalidControlLength(n) => write!(f, "{P}invalid payload length {n}"),
            Error::ExpectedMask => write!(f, "{P}MASK must be set"),
            Error::UnexpectedMask => write!(f, "{P}MASK must be clear"),
            Error::UnsupportedLength => {
                write!(f, "Unsupported WebSocket frame: payload length > 2^53 - 1")
            }
            Error::MessageTooBig => write!(f, "Max payload size exceeded"),
            Error::TooManyFragments => write!(f, "Max fragments per message exceeded"),
            Error::InvalidUtf8 => write!(f, "{P}invalid UTF-8 sequence"),
            Error::InvalidCloseCode(c) => write!(f, "{P}invalid status code {c}"),
            Error::InvalidCompressedData(m) => write!(f, "{m}"),
            Error::NotOpen => write!(f, "WebSocket is not open"),
            Error::ControlTooLong => write!(f, "The data size must not be greater than 125 bytes"),
            Error::ReasonTooLong => write!(f, "The message must not be greater than 123 bytes"),
            Error::InvalidCloseCodeArg(_) => {
                write!(f, "First argument must be a valid error code number")
            }
            Error::FragmentKindMismatch => {
                write!(
                    f,
                    "A fragmented message must keep the type of its first frame"
                )
            }
            Error::Handshake(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Error::Handshake(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_rfc6455_7_4_1() {
        assert_eq!(Error::InvalidUtf8.close_code(), 1007);
        assert_eq!(Error::MessageTooBig.close_code(), 1009);
        assert_eq!(Error::InvalidOpcode(3).close_code(), 1002);
        assert_eq!(Error::InvalidOpcode(3).ws_code(), "WS_ERR_INVALID_OPCODE");
        assert_eq!(
            Error::InvalidOpcode(3).to_string(),
            "Invalid WebSocket frame: invalid opcode 3"
        );
        assert!(Error::Rsv1Set.is_protocol_violation());
        assert!(!Error::NotOpen.is_protocol_violation());
    }
}
