//! Close frame payloads (RFC 6455 §5.5.1, §7.4).

use crate::error::{ProtocolError, UsageError};
use crate::utf8;

/// Whether `code` may appear in a close frame on the wire (§7.4.1, §7.4.2): 1000–1003,
/// 1007–1014 and 3000–4999. 1004, 1005, 1006 and 1015 are reserved and never sent.
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Parses a received close payload into (code, reason). An empty payload has no code.
pub fn parse_payload(payload: &[u8]) -> Result<(Option<u16>, &str), ProtocolError> {
    match payload.len() {
        0 => Ok((None, "")),
        // §5.5.1: if there is a body, its first two bytes are the code.
        1 => Err(ProtocolError::InvalidControlLength(1)),
        _ => {
            let code = u16::from_be_bytes([payload[0], payload[1]]);
            if !is_valid_code(code) {
                return Err(ProtocolError::InvalidCloseCode(code));
            }
            let reason = utf8::validate(&payload[2..]).map_err(|_| ProtocolError::InvalidUtf8)?;
            Ok((Some(code), reason))
        }
    }
}

/// Builds a close payload, checking what `ws` checks before sending.
pub fn build_payload(code: Option<u16>, reason: &str, out: &mut Vec<u8>) -> Result<(), UsageError> {
    match code {
        None if reason.is_empty() => Ok(()),
        // A reason needs a code in front of it (§5.5.1); ws sends 1000 then... but ws
        // rejects it. We follow ws.
        None => Err(UsageError::InvalidCloseCode(0)),
        Some(c) if !is_valid_code(c) => Err(UsageError::InvalidCloseCode(c)),
        Some(_) if reason.len() > 123 => Err(UsageError::ReasonTooLong),
        Some(c) => {
            out.extend_from_slice(&c.to_be_bytes());
            out.extend_from_slice(reason.as_bytes());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_7_4_valid_and_invalid_codes() {
        for c in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(is_valid_code(c), "{c}");
        }
        for c in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_code(c), "{c}");
        }
    }

    #[test]
    fn rfc6455_5_5_1_payloads() {
        assert_eq!(parse_payload(&[]), Ok((None, "")));
        assert_eq!(
            parse_payload(&[0x03]),
            Err(ProtocolError::InvalidControlLength(1))
        );
        assert_eq!(
            parse_payload(&[0x03, 0xe8, b'o', b'k']),
            Ok((Some(1000), "ok"))
        );
        assert_eq!(
            parse_payload(&[0x03, 0xe7]),
            Err(ProtocolError::InvalidCloseCode(999))
        );
        assert_eq!(
            parse_payload(&[0x03, 0xe8, 0xff]),
            Err(ProtocolError::InvalidUtf8)
        );
    }

    #[test]
    fn build_checks_like_ws() {
        let mut out = Vec::new();
        assert_eq!(
            build_payload(Some(1005), "", &mut out),
            Err(UsageError::InvalidCloseCode(1005))
        );
        assert_eq!(
            build_payload(Some(1000), &"x".repeat(124), &mut out),
            Err(UsageError::ReasonTooLong)
        );
        build_payload(Some(1000), &"x".repeat(123), &mut out).unwrap();
        assert_eq!(out.len(), 125);
    }
}
