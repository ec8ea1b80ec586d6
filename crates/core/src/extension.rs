//! `Sec-WebSocket-Extensions` header grammar (RFC 6455 §9.1):
//! `ext-name *( ";" param [ "=" (token | quoted-string) ] )`, offers separated by commas.

/// One extension offer or response: its name and parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Its parameters in order: name and value (`None` for a bare parameter).
    pub params: Vec<(String, Option<String>)>,
}

/// Raised for a header that does not follow the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError;

fn is_tchar(c: char) -> bool {
    // RFC 7230 §3.2.6 token characters.
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn token(s: &str) -> Result<String, ParseError> {
    let s = s.trim_matches([' ', '\t']);
    if !s.is_empty() && s.chars().all(is_tchar) {
        Ok(s.to_string())
    } else {
        Err(ParseError)
    }
}

fn value(s: &str) -> Result<String, ParseError> {
    let s = s.trim_matches([' ', '\t']);
    match s.strip_prefix('"') {
        Some(rest) => {
            // §9.1: a quoted value must still be a token once unquoted.
            let inner = rest.strip_suffix('"').ok_or(ParseError)?;
            token(&inner.replace('\\', ""))
        }
        None => token(s),
    }
}

/// Splits on `sep` outside quoted strings.
fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&s[start..i]);
            start = i + 1;
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Parses a whole header value into its extensions.
pub fn parse(header: &str) -> Result<Vec<Extension>, ParseError> {
    let mut out = Vec::new();
    for offer in split_outside_quotes(header, ',') {
        let mut pieces = split_outside_quotes(offer, ';').into_iter();
        let name = token(pieces.next().unwrap_or(""))?;
        let mut params = Vec::new();
        for p in pieces {
            match p.split_once('=') {
                Some((k, v)) => params.push((token(k)?.to_ascii_lowercase(), Some(value(v)?))),
                None => params.push((token(p)?.to_ascii_lowercase(), None)),
            }
        }
        out.push(Extension {
            name: name.to_ascii_lowercase(),
            params,
        });
    }
    Ok(out)
}

/// Formats extensions back into a header value.
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
    }

    #[test]
    fn malformed_headers_rejected() {
        for bad in [
            "",
            "permessage-deflate;",
            "a b",
            "x; y=",
            "x; y=\"a b\"",
            ",",
            "x; =1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
