//! Header fields: the RFC 7230 §3.2 syntax every caller-supplied name and value must
//! have, and lookups in received heads.

use std::borrow::Cow;
use std::fmt;

/// Why a caller-supplied header, subprotocol or request target cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// The name is not an RFC 7230 §3.2.6 token.
    InvalidName(String),
    /// The value of the named header has a control character (CR, LF, NUL, …) or DEL
    /// (RFC 7230 §3.2: field-content is visible characters, spaces and tabs).
    InvalidValue(String),
    /// A header the handshake writes itself (`Upgrade`, `Sec-WebSocket-Accept`, …).
    Reserved(String),
    /// A subprotocol that is not a token, or one given twice (RFC 6455 §4.1).
    InvalidSubprotocol(String),
    /// A request target that is not origin-form: it must start with `/` and hold only
    /// visible ASCII (RFC 7230 §5.3.1; other bytes are percent-encoded).
    InvalidPath(String),
}

impl fmt::Display for HeaderError {
    // Node's and ws's messages, so the Node package can pass them through.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderError::InvalidName(n) => {
                write!(f, "Header name must be a valid HTTP token [\"{n}\"]")
            }
            HeaderError::InvalidValue(n) => {
                write!(f, "Invalid character in header content [\"{n}\"]")
            }
            HeaderError::Reserved(n) => write!(f, "The \"{n}\" header is set by the handshake"),
            HeaderError::InvalidSubprotocol(_) => {
                f.write_str("An invalid or duplicated subprotocol was specified")
            }
            HeaderError::InvalidPath(_) => {
                f.write_str("Request path contains unescaped characters")
            }
        }
    }
}

impl std::error::Error for HeaderError {}

/// Whether `s` is an RFC 7230 §3.2.6 token (header names, subprotocols, extension names).
pub fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 7230 §3.2: field-vchar (VCHAR / obs-text), SP and HTAB. Everything else — CR
/// and LF above all — could end the field early.
pub(crate) fn is_field_value(v: &str) -> bool {
    v.bytes()
        .all(|b| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
}

/// Checks a header a caller wants written.
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), HeaderError> {
    if !is_token(name) {
        return Err(HeaderError::InvalidName(name.to_string()));
    }
    if !is_field_value(value) {
        return Err(HeaderError::InvalidValue(name.to_string()));
    }
    Ok(())
}

/// Checks a header a caller wants written next to the handshake's own `reserved` ones.
pub(crate) fn check_extra_header(
    name: &str,
    value: &str,
    reserved: &[&str],
) -> Result<(), HeaderError> {
    check_header(name, value)?;
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(HeaderError::Reserved(name.to_string()));
    }
    Ok(())
}

/// Checks a subprotocol list a client offers: tokens, no repeats (RFC 6455 §4.1).
pub(crate) fn check_protocols(protocols: &[String]) -> Result<(), HeaderError> {
    for (i, p) in protocols.iter().enumerate() {
        if !is_token(p) || protocols[..i].contains(p) {
            return Err(HeaderError::InvalidSubprotocol(p.clone()));
        }
    }
    Ok(())
}

/// Parses a received `Sec-WebSocket-Protocol` list (ws's `subprotocol.parse`, see
/// [`crate::extension::parse_subprotocols`]); `None` when it does not parse.
pub(crate) fn parse_protocols(value: &str) -> Option<Vec<String>> {
    crate::extension::parse_subprotocols(value).ok()
}

/// `ws`'s key rule: 22 base64 characters and "==", i.e. 16 bytes encoded (§4.1 item 7).
pub(crate) fn parse_key(k: &str) -> Option<[u8; 24]> {
    let b = k.as_bytes();
    let ok = b.len() == 24
        && b[..22]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        && &b[22..] == b"==";
    ok.then(|| {
        let mut key = [0u8; 24];
        key.copy_from_slice(b);
        key
    })
}

/// Whether a comma-separated value lists `token`, case-insensitively (RFC 7230 §7).
pub(crate) fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case(token))
}

/// The value of field `name`, repeated fields joined with ", " (RFC 7230 §3.2.2), as
/// Node's parser joins them. Bytes that are not UTF-8 (obs-text) read as U+FFFD.
pub(crate) fn joined<'a>(
    fields: impl Iterator<Item = (&'a str, &'a [u8])>,
    name: &str,
) -> Option<Cow<'a, str>> {
    let mut found = fields
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v));
    let first = found.next()?;
    match found.next() {
        None => Some(first),
        Some(second) => {
            let mut all = first.into_owned();
            for v in std::iter::once(second).chain(found) {
                all.push_str(", ");
                all.push_str(&v);
            }
            Some(Cow::Owned(all))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7230_3_2_6_tokens() {
        assert!(is_token("chat.v2"));
        assert!(is_token("X-Custom_1"));
        for bad in ["", "a b", "a,b", "a\r\nb", "ä", "a:b", "(x)"] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn rfc7230_3_2_values_without_controls() {
        assert!(is_field_value("text/html; q=0.9\tcafé"));
        assert!(is_field_value(""));
        for bad in [
            "a\r\nX-Injected: 1",
            "a\nb",
            "a\rb",
            "a\0b",
            "a\x7fb",
            "\x0b",
        ] {
            assert!(!is_field_value(bad), "{bad:?}");
        }
    }

    #[test]
    fn caller_headers_are_checked() {
        assert_eq!(check_header("X-A", "1"), Ok(()));
        assert_eq!(
            check_header("X A", "1"),
            Err(HeaderError::InvalidName("X A".into()))
        );
        assert_eq!(
            check_header("X-A", "1\r\nSet-Cookie: a=b"),
            Err(HeaderError::InvalidValue("X-A".into()))
        );
        assert_eq!(
            check_extra_header("upgrade", "h2c", &["Upgrade"]),
            Err(HeaderError::Reserved("upgrade".into()))
        );
    }

    #[test]
    fn rfc6455_4_1_offered_subprotocols() {
        assert_eq!(check_protocols(&["a".into(), "b".into()]), Ok(()));
        for bad in [vec!["a", "a"], vec![""], vec!["a b"], vec!["a,b"]] {
            let v: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
            let e = check_protocols(&v).unwrap_err();
            assert_eq!(
                e.to_string(),
                "An invalid or duplicated subprotocol was specified"
            );
        }
    }

    #[test]
    fn received_subprotocol_lists() {
        assert_eq!(
            parse_protocols("chat, super\tchat").map(|v| v.len()),
            None,
            "a tab inside a name"
        );
        assert_eq!(
            parse_protocols("chat ,\tsuperchat").unwrap(),
            vec!["chat", "superchat"]
        );
        for bad in ["", "a,", ",a", "a,,b", "a, a", "a b"] {
            assert_eq!(parse_protocols(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn rfc7230_3_2_2_repeated_fields_join() {
        let f = [
            ("Connection", &b"keep-alive"[..]),
            ("X", &b"1"[..]),
            ("connection", &b"Upgrade"[..]),
        ];
        let v = joined(f.iter().copied(), "CONNECTION").unwrap();
        assert_eq!(v, "keep-alive, Upgrade");
        assert!(has_token(&v, "upgrade"));
        assert_eq!(joined(f.iter().copied(), "x").unwrap(), "1");
        assert_eq!(joined(f.iter().copied(), "y"), None);
    }
}
