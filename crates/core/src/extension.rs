//! `Sec-WebSocket-Extensions` and `Sec-WebSocket-Protocol` header grammar (RFC 6455 §9.1,
//! §4.1): `ext-name *( ";" param [ "=" (token | quoted-string) ] )`, offers separated
//! by commas; subprotocols are tokens separated by commas.
//!
//! Both parsers follow `ws`'s (`lib/extension.js`, `lib/subprotocol.js`) character by
//! character, so a header is accepted or refused exactly as `ws` does and the error
//! names the same character index. Names are kept as sent (`ws` compares them
//! case-sensitively).

use std::fmt;

/// One extension offer or response: its name and parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters in order: name and value (`None` for a bare parameter).
    pub params: Vec<(String, Option<String>)>,
}

/// Why a header does not follow the grammar; the texts are `ws`'s `SyntaxError`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A character that may not appear where it is (its index in the header).
    UnexpectedCharacter(usize),
    /// The header ends inside a token, a quoted string or after a separator.
    UnexpectedEnd,
    /// A subprotocol listed twice.
    DuplicatedSubprotocol(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnexpectedCharacter(i) => write!(f, "Unexpected character at index {i}"),
            ParseError::UnexpectedEnd => f.write_str("Unexpected end of input"),
            ParseError::DuplicatedSubprotocol(p) => {
                write!(f, "The \"{p}\" subprotocol is duplicated")
            }
        }
    }
}

impl std::error::Error for ParseError {}

fn is_tchar(c: u8) -> bool {
    // RFC 7230 §3.2.6 token characters.
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_space(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// Where the parser is in the current offer (`ws`'s `extensionName`/`paramName`).
enum Part {
    Name,
    Param(String),
    Value(String, String),
}

/// Parses a whole header value into its extensions, in order (an extension offered
/// twice appears twice). Every accepted character is ASCII, so a byte index is also the
/// index `ws` reports (a UTF-16 one).
pub fn parse(header: &str) -> Result<Vec<Extension>, ParseError> {
    let b = header.as_bytes();
    let mut offers = Vec::new();
    let mut params: Vec<(String, Option<String>)> = Vec::new();
    let mut part = Part::Name;
    let (mut must_unescape, mut escaping, mut in_quotes) = (false, false, false);
    let (mut start, mut end): (Option<usize>, Option<usize>) = (None, None);
    let mut last = None;
    let err = |i| ParseError::UnexpectedCharacter(i);
    for (i, &c) in b.iter().enumerate() {
        last = Some(c);
        let tok = is_tchar(c);
        match &mut part {
            Part::Name => {
                if end.is_none() && tok {
                    start.get_or_insert(i);
                } else if i != 0 && is_space(c) {
                    if end.is_none() && start.is_some() {
                        end = Some(i);
                    }
                } else if c == b';' || c == b',' {
                    let s = start.ok_or(err(i))?;
                    let name = header[s..end.unwrap_or(i)].to_string();
                    if c == b',' {
                        offers.push(Extension {
                            name,
                            params: std::mem::take(&mut params),
                        });
                    } else {
                        part = Part::Param(name);
                    }
                    (start, end) = (None, None);
                } else {
                    return Err(err(i));
                }
            }
            Part::Param(name) => {
                if end.is_none() && tok {
                    start.get_or_insert(i);
                } else if is_space(c) {
                    if end.is_none() && start.is_some() {
                        end = Some(i);
                    }
                } else if c == b';' || c == b',' {
                    let s = start.ok_or(err(i))?;
                    params.push((header[s..end.unwrap_or(i)].to_string(), None));
                    if c == b',' {
                        offers.push(Extension {
                            name: std::mem::take(name),
                            params: std::mem::take(&mut params),
                        });
                        part = Part::Name;
                    }
                    (start, end) = (None, None);
                } else if c == b'=' && start.is_some() && end.is_none() {
                    let key = header[start.unwrap_or(0)..i].to_string();
                    part = Part::Value(std::mem::take(name), key);
                    (start, end) = (None, None);
                } else {
                    return Err(err(i));
                }
            }
            Part::Value(name, key) => {
                // §9.1: a quoted value must still be a token once unescaped.
                if escaping {
                    if !tok {
                        return Err(err(i));
                    }
                    if start.is_none() {
                        start = Some(i);
                    } else {
                        must_unescape = true;
                    }
                    escaping = false;
                } else if in_quotes {
                    if tok {
                        start.get_or_insert(i);
                    } else if c == b'"' && start.is_some() {
                        in_quotes = false;
                        end = Some(i);
                    } else if c == b'\\' {
                        escaping = true;
                    } else {
                        return Err(err(i));
                    }
                } else if c == b'"' && i > 0 && b[i - 1] == b'=' {
                    in_quotes = true;
                } else if end.is_none() && tok {
                    start.get_or_insert(i);
                } else if start.is_some() && is_space(c) {
                    if end.is_none() {
                        end = Some(i);
                    }
                } else if c == b';' || c == b',' {
                    let s = start.ok_or(err(i))?;
                    let mut value = header[s..end.unwrap_or(i)].to_string();
                    if must_unescape {
                        value = value.replace('\\', "");
                        must_unescape = false;
                    }
                    params.push((std::mem::take(key), Some(value)));
                    part = if c == b',' {
                        offers.push(Extension {
                            name: std::mem::take(name),
                            params: std::mem::take(&mut params),
                        });
                        Part::Name
                    } else {
                        Part::Param(std::mem::take(name))
                    };
                    (start, end) = (None, None);
                } else {
                    return Err(err(i));
                }
            }
        }
    }
    let Some(s) = start else {
        return Err(ParseError::UnexpectedEnd);
    };
    if in_quotes || last.is_some_and(is_space) {
        return Err(ParseError::UnexpectedEnd);
    }
    let token = header[s..end.unwrap_or(b.len())].to_string();
    match part {
        Part::Name => offers.push(Extension {
            name: token,
            params,
        }),
        Part::Param(name) => {
            params.push((token, None));
            offers.push(Extension { name, params });
        }
        Part::Value(name, key) => {
            let value = if must_unescape {
                token.replace('\\', "")
            } else {
                token
            };
            params.push((key, Some(value)));
            offers.push(Extension { name, params });
        }
    }
    Ok(offers)
}

/// Parses a `Sec-WebSocket-Protocol` value: tokens separated by commas, optional
/// spaces or tabs after a token, no repeats (ws's `subprotocol.parse`).
pub fn parse_subprotocols(header: &str) -> Result<Vec<String>, ParseError> {
    let b = header.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let (mut start, mut end): (Option<usize>, Option<usize>) = (None, None);
    let push = |p: &str, out: &mut Vec<String>| {
        if out.iter().any(|q| q == p) {
            return Err(ParseError::DuplicatedSubprotocol(p.to_string()));
        }
        out.push(p.to_string());
        Ok(())
    };
    for (i, &c) in b.iter().enumerate() {
        if end.is_none() && is_tchar(c) {
            start.get_or_insert(i);
        } else if i != 0 && is_space(c) {
            if end.is_none() && start.is_some() {
                end = Some(i);
            }
        } else if c == b',' {
            let s = start.ok_or(ParseError::UnexpectedCharacter(i))?;
            push(&header[s..end.unwrap_or(i)], &mut out)?;
            (start, end) = (None, None);
        } else {
            return Err(ParseError::UnexpectedCharacter(i));
        }
    }
    match (start, end) {
        (Some(s), None) => push(&header[s..], &mut out)?,
        _ => return Err(ParseError::UnexpectedEnd),
    }
    Ok(out)
}

/// Formats extensions back into a header value (`ws`'s `extension.format`).
pub fn format(exts: &[Extension]) -> String {
    exts.iter()
        .map(|e| {
            let mut s = e.name.clone();
            for (k, v) in &e.params {
                s.push_str("; ");
                s.push_str(k);
                if let Some(v) = v {
                    s.push('=');
                    s.push_str(v);
                }
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_9_1_grammar() {
        let e =
            parse("permessage-deflate; client_max_window_bits; server_max_window_bits=\"10\", foo")
                .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].name, "permessage-deflate");
        assert_eq!(e[0].params[0], ("client_max_window_bits".into(), None));
        assert_eq!(
            e[0].params[1],
            ("server_max_window_bits".into(), Some("10".into()))
        );
        assert_eq!(e[1].name, "foo");
        assert_eq!(
            format(&e[..1]),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10"
        );
        let e = parse("foo; bar=\"b\\az\" ;baz\t, foo").unwrap();
        assert_eq!(e[0].params[0], ("bar".into(), Some("baz".into())));
        assert_eq!(e[0].params[1], ("baz".into(), None));
        assert_eq!(e[1].name, "foo");
    }

    #[test]
    fn malformed_headers_name_the_index_as_ws() {
        use ParseError::*;
        for (bad, want) in [
            ("", UnexpectedEnd),
            ("permessage-deflate;", UnexpectedEnd),
            ("a b", UnexpectedCharacter(2)),
            (" a", UnexpectedCharacter(0)),
            ("x; y=", UnexpectedEnd),
            ("x; y=\"a b\"", UnexpectedCharacter(7)),
            (",", UnexpectedCharacter(0)),
            ("x; =1", UnexpectedCharacter(3)),
            ("foo ", UnexpectedEnd),
            ("foo; bar=\"baz", UnexpectedEnd),
            ("foo; é", UnexpectedCharacter(5)),
        ] {
            assert_eq!(parse(bad), Err(want), "{bad:?}");
        }
        assert_eq!(
            UnexpectedCharacter(3).to_string(),
            "Unexpected character at index 3"
        );
    }

    #[test]
    fn rfc6455_4_1_subprotocol_lists() {
        assert_eq!(
            parse_subprotocols("chat ,\tsuperchat").unwrap(),
            ["chat", "superchat"]
        );
        assert_eq!(
            parse_subprotocols("chat, super\tchat"),
            Err(ParseError::UnexpectedCharacter(12)),
            "a tab inside a name"
        );
        assert_eq!(parse_subprotocols("a ,b").unwrap(), ["a", "b"]);
        use ParseError::*;
        for (bad, want) in [
            ("", UnexpectedEnd),
            ("a,", UnexpectedEnd),
            ("a ", UnexpectedEnd),
            (" a", UnexpectedCharacter(0)),
            ("a b", UnexpectedCharacter(2)),
            ("a,,b", UnexpectedCharacter(2)),
            ("a, a", DuplicatedSubprotocol("a".into())),
        ] {
            assert_eq!(parse_subprotocols(bad), Err(want), "{bad:?}");
        }
        assert_eq!(
            DuplicatedSubprotocol("a".into()).to_string(),
            "The \"a\" subprotocol is duplicated"
        );
    }
}
