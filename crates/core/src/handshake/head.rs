//! Reading HTTP heads (RFC 7230 §3) with `httparse`, bounded in header count and size.
//! A complete head is kept as one copy of its bytes plus the spans of its parts.

use std::borrow::Cow;
use std::ops::Range;

use super::fields;
use super::Limits;

/// Why a head could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// More header fields than [`Limits::max_headers`].
    TooManyFields,
    /// More bytes than [`Limits::max_header_bytes`] before the head ended.
    TooLarge,
    /// Not HTTP/1.x syntax.
    Malformed,
    /// A request that is not HTTP/1.1 (RFC 6455 §4.1: "at least 1.1").
    NotHttp11,
}

/// A complete head: its bytes and where its fields lie in them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    bytes: Box<[u8]>,
    fields: Vec<(Range<usize>, Range<usize>)>,
}

impl Head {
    /// The text at `span` (always UTF-8: the spans of names, methods and paths come
    /// from `&str`s).
    pub(crate) fn text(&self, span: Range<usize>) -> &str {
        std::str::from_utf8(&self.bytes[span]).unwrap_or("")
    }

    /// Every field as (name, raw value), in order.
    pub(crate) fn fields(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields
            .iter()
            .map(|(n, v)| (self.text(n.clone()), &self.bytes[v.clone()]))
    }

    /// The value of `name`, repeated fields joined (RFC 7230 §3.2.2).
    pub(crate) fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        fields::joined(self.fields(), name)
    }

    /// A head from parts parsed elsewhere: `start` (e.g. method and path) and fields.
    /// Returns the head and the spans of `start`'s pieces.
    pub(crate) fn from_parts<const N: usize>(
        start: [&str; N],
        fields: &[(&str, &str)],
    ) -> (Head, [Range<usize>; N]) {
        let len = start.iter().map(|s| s.len()).sum::<usize>()
            + fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
        let mut bytes = Vec::with_capacity(len);
        let mut push = |s: &str| {
            let at = bytes.len();
            bytes.extend_from_slice(s.as_bytes());
            at..bytes.len()
        };
        let spans = start.map(&mut push);
        let fields = fields.iter().map(|(k, v)| (push(k), push(v))).collect();
        (
            Head {
                bytes: bytes.into_boxed_slice(),
                fields,
            },
            spans,
        )
    }
}

/// A request head: method and path spans plus the head.
pub(crate) struct ParsedRequest {
    pub(crate) head: Head,
    pub(crate) method: Range<usize>,
    pub(crate) path: Range<usize>,
}

/// A response head: status code plus the head.
pub(crate) struct ResponseHead {
    pub(crate) head: Head,
    pub(crate) status: u16,
}

/// What a read of a possibly incomplete head gave.
pub(crate) enum Parsed<T> {
    /// The head has not ended yet.
    Partial,
    /// The head and the number of bytes it took.
    Complete(T, usize),
}

/// Parses with headers to parse into: 64 on the stack first; a head with more fields
/// (`too_many` tells from the error) is parsed again with as many as the bounds allow,
/// at most what the size bound leaves room for (a field takes at least 4 bytes: `a:`
/// CRLF), so a huge `max_headers` cannot allocate more than the head could ever fill,
/// and a usual head allocates none.
fn with_headers<'b, R, E>(
    limits: &Limits,
    mut f: impl FnMut(&mut [httparse::Header<'b>]) -> Result<R, E>,
    too_many: impl Fn(&E) -> bool,
) -> Result<R, E> {
    const ON_STACK: usize = 64;
    let n = limits.max_headers.min(limits.max_header_bytes / 4 + 1);
    let mut hs: [httparse::Header<'b>; ON_STACK] = [httparse::EMPTY_HEADER; ON_STACK];
    match f(&mut hs[..n.min(ON_STACK)]) {
        Err(e) if n > ON_STACK && too_many(&e) => f(&mut vec![httparse::EMPTY_HEADER; n]),
        parsed => parsed,
    }
}

fn head_error(e: httparse::Error) -> HeadError {
    match e {
        httparse::Error::TooManyHeaders => HeadError::TooManyFields,
        _ => HeadError::Malformed,
    }
}

fn check_size(len: usize, limits: &Limits) -> Result<(), HeadError> {
    if len > limits.max_header_bytes {
        Err(HeadError::TooLarge)
    } else {
        Ok(())
    }
}

/// Offset of `part` inside `buf` (httparse hands out slices of the buffer it parsed).
fn span(buf: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    start..start + part.len()
}

fn keep(buf: &[u8], n: usize, hs: &[httparse::Header<'_>]) -> Head {
    Head {
        bytes: buf[..n].into(),
        fields: hs
            .iter()
            .map(|h| (span(buf, h.name.as_bytes()), span(buf, h.value)))
            .collect(),
    }
}

/// Reads a request head from the start of `buf`.
pub(crate) fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Parsed<ParsedRequest>, HeadError> {
    with_headers(
        limits,
        |hs| {
            let mut req = httparse::Request::new(hs);
            match req.parse(buf).map_err(head_error)? {
                httparse::Status::Partial => check_size(buf.len(), limits).map(|_| Parsed::Partial),
                httparse::Status::Complete(n) => {
                    check_size(n, limits)?;
                    if req.version != Some(1) {
                        return Err(HeadError::NotHttp11);
                    }
                    let method = span(buf, req.method.unwrap_or_default().as_bytes());
                    let path = span(buf, req.path.unwrap_or_default().as_bytes());
                    let head = keep(buf, n, req.headers);
                    Ok(Parsed::Complete(ParsedRequest { head, method, path }, n))
                }
            }
        },
        |e| *e == HeadError::TooManyFields,
    )
}

/// Reads a response head from the start of `buf`. On failure, also returns the status
/// code when the status line was read.
pub(crate) fn parse_response(
    buf: &[u8],
    limits: &Limits,
) -> Result<Parsed<ResponseHead>, (HeadError, u16)> {
    with_headers(
        limits,
        |hs| {
            let mut res = httparse::Response::new(hs);
            let parsed = res.parse(buf);
            let status = res.code.unwrap_or(0);
            match parsed.map_err(|e| (head_error(e), status))? {
                httparse::Status::Partial => check_size(buf.len(), limits)
                    .map(|_| Parsed::Partial)
                    .map_err(|e| (e, status)),
                httparse::Status::Complete(n) => {
                    check_size(n, limits).map_err(|e| (e, status))?;
                    let head = keep(buf, n, res.headers);
                    Ok(Parsed::Complete(ResponseHead { head, status }, n))
                }
            }
        },
        |(e, _)| *e == HeadError::TooManyFields,
    )
}

/// Bytes of a head that arrive in pieces: kept only while the head is incomplete, and
/// never more than the size bound (plus one byte to see that it was passed).
#[derive(Debug, Default)]
pub(crate) struct Pending {
    bytes: Vec<u8>,
}

impl Pending {
    /// Heap bytes held.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// Feeds `input` to `parse` together with what came before. On `Complete`, returns
    /// the parsed head and the bytes after it; the pending bytes are released.
    pub(crate) fn feed<T, E>(
        &mut self,
        input: &[u8],
        limits: &Limits,
        parse: impl Fn(&[u8]) -> Result<Parsed<T>, E>,
    ) -> Result<Option<(T, Vec<u8>)>, E> {
        if self.bytes.is_empty() {
            // The common case: the whole head in one read, nothing kept.
            return match parse(input)? {
                Parsed::Complete(head, n) => Ok(Some((head, input[n..].to_vec()))),
                Parsed::Partial => {
                    self.bytes = Vec::with_capacity(input.len());
                    self.bytes.extend_from_slice(input);
                    Ok(None)
                }
            };
        }
        let room = (limits.max_header_bytes + 1).saturating_sub(self.bytes.len());
        let take = input.len().min(room);
        self.bytes.extend_from_slice(&input[..take]);
        match parse(&self.bytes)? {
            Parsed::Partial => Ok(None),
            Parsed::Complete(head, n) => {
                let mut rest = self.bytes.split_off(n);
                rest.extend_from_slice(&input[take..]);
                self.bytes = Vec::new();
                Ok(Some((head, rest)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"GET /a?b HTTP/1.1\r\nHost: h\r\nX: 1\r\nx: 2\r\n\r\nrest";

    #[test]
    fn request_head_spans() {
        let Ok(Parsed::Complete(r, n)) = parse_request(REQ, &Limits::default()) else {
            panic!("complete")
        };
        assert_eq!(&REQ[n..], b"rest");
        assert_eq!(r.head.text(r.method.clone()), "GET");
        assert_eq!(r.head.text(r.path.clone()), "/a?b");
        assert_eq!(r.head.field("x").as_deref(), Some("1, 2"));
        assert_eq!(r.head.fields().count(), 3);
    }

    #[test]
    fn from_parts_reads_the_same() {
        let (h, [m, p]) = Head::from_parts(["GET", "/"], &[("Host", "h"), ("X", "1")]);
        assert_eq!((h.text(m), h.text(p)), ("GET", "/"));
        assert_eq!(h.field("host").as_deref(), Some("h"));
    }

    #[test]
    fn bounds() {
        let l = Limits {
            max_headers: 2,
            max_header_bytes: 64,
        };
        assert!(matches!(
            parse_request(REQ, &l),
            Err(HeadError::TooManyFields)
        ));
        let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; 100]].concat();
        assert!(matches!(parse_request(&long, &l), Err(HeadError::TooLarge)));
        assert!(matches!(
            parse_request(b"GET / HTTP/1.0\r\n\r\n", &l),
            Err(HeadError::NotHttp11)
        ));
        assert!(matches!(
            parse_request(b"\x00GET", &l),
            Err(HeadError::Malformed)
        ));
        // A huge field bound allocates no more than the size bound allows.
        let wide = Limits {
            max_headers: usize::MAX,
            max_header_bytes: 1024,
        };
        assert!(matches!(
            parse_request(REQ, &wide),
            Ok(Parsed::Complete(..))
        ));
    }

    #[test]
    fn pending_keeps_only_an_incomplete_head() {
        let l = Limits::default();
        let mut p = Pending::default();
        assert!(p.feed(REQ, &l, |b| parse_request(b, &l)).unwrap().is_some());
        assert_eq!(p.capacity(), 0);
        assert!(p
            .feed(&REQ[..10], &l, |b| parse_request(b, &l))
            .unwrap()
            .is_none());
        assert_eq!(p.capacity(), 10);
        let (_, rest) = p
            .feed(&REQ[10..], &l, |b| parse_request(b, &l))
            .unwrap()
            .unwrap();
        assert_eq!(rest, b"rest");
        assert_eq!(p.capacity(), 0);
    }

    #[test]
    fn pending_never_grows_past_the_bound() {
        let l = Limits {
            max_headers: 8,
            max_header_bytes: 100,
        };
        let mut p = Pending::default();
        assert!(p
            .feed(b"GET / HTTP/1.1\r\nX: ", &l, |b| parse_request(b, &l))
            .unwrap()
            .is_none());
        let r = p.feed(&[b'a'; 10_000], &l, |b| parse_request(b, &l));
        assert!(matches!(r, Err(HeadError::TooLarge)));
        assert!(p.capacity() <= 1024, "{}", p.capacity());
    }
}
