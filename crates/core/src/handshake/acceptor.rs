//! Server side: request bytes → checked [`Request`] → the application's decision
//! ([`Incoming`]) → `101` response + leftover bytes ([`Established`]).

use std::borrow::Cow;
use std::ops::Range;

use super::fields::{self, HeaderError};
use super::head::{self, Head, HeadError, Pending};
use super::{wire, Established, HandshakeError, Limits};
use crate::deflate::{DeflateConfig, DeflateParams};
use crate::Role;

/// Headers of the `101` that the handshake writes itself.
const RESPONSE_HEADERS: [&str; 5] = [
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
];

/// How an [`Acceptor`] reads and checks upgrade requests.
///
/// The default follows RFC 6455 §4.2.1 strictly; [`AcceptorConfig::ws`] checks what
/// `ws` 8.x checks and answers as it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptorConfig {
    /// Bounds on the request head (beyond them: 431).
    pub limits: Limits,
    /// Refuse a request without `Host` (400), as §4.2.1 item 2 requires. On by default;
    /// `ws` and Node's HTTP server accept such requests.
    pub require_host: bool,
    /// Require `Connection: Upgrade` (§4.2.1 item 4; 400 otherwise). On by default; `ws`
    /// does not check it (Node's HTTP server only emits upgrades that have it).
    pub require_connection_upgrade: bool,
    /// Also accept `Sec-WebSocket-Version: 8` (its framing is the same), as `ws` does.
    pub allow_version_8: bool,
    /// Status for a missing or unsupported version: 426 (§4.4) by default; `ws`: 400.
    pub bad_version_status: u16,
    /// A permessage-deflate offer that is malformed or cannot be accepted: refuse the
    /// handshake with 400 (`ws`) instead of declining the offer and going on without
    /// compression (RFC 7692 §5, the default).
    pub reject_unacceptable_deflate: bool,
    /// Answer a request that is not an upgrade at all (no `Upgrade` header, or no
    /// `upgrade` token in `Connection`: what Node's HTTP parser calls a plain request)
    /// with `426 Upgrade Required`, before any other check. Off by default (the
    /// request is then checked as an upgrade); `ws`'s own HTTP server in `port` mode
    /// answers that way ([`crate::ws::port_acceptor_config`]).
    pub answer_plain_http: bool,
}

impl Default for AcceptorConfig {
    fn default() -> Self {
        AcceptorConfig {
            limits: Limits::default(),
            require_host: true,
            require_connection_upgrade: true,
            allow_version_8: false,
            bad_version_status: 426,
            reject_unacceptable_deflate: false,
            answer_plain_http: false,
        }
    }
}

impl AcceptorConfig {
    /// The checks and answers of `ws` 8.x's `handleUpgrade`: no `Host` or `Connection`
    /// check, versions 13 and 8, 400 for a bad version, 400 for an unacceptable
    /// permessage-deflate offer.
    /// The rule itself lives with `ws`'s other rules in [`crate::ws::acceptor_config`].
    pub fn ws() -> Self {
        crate::ws::acceptor_config()
    }
}

/// Server side of the opening handshake: reads request bytes, cut anywhere, until the
/// head is complete and checked.
///
/// ```
/// use ferrosocket_core::handshake::{Acceptor, AcceptorConfig};
/// use ferrosocket_core::deflate::DeflateConfig;
/// use ferrosocket_core::Config;
///
/// let mut acceptor = Acceptor::new(AcceptorConfig::default());
/// let bytes = b"GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
///               Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
///               Sec-WebSocket-Protocol: chat\r\n\r\n";
/// let (first, second) = bytes.split_at(20);
/// assert!(acceptor.feed(first).unwrap().is_none()); // not complete yet
/// let mut incoming = acceptor.feed(second).unwrap().expect("a complete request");
/// // The decision point: route, choose, negotiate, add headers — or reject.
/// assert_eq!(incoming.request().path(), "/chat");
/// incoming.select_protocol("chat").unwrap();
/// incoming.negotiate_deflate(&DeflateConfig::default()).unwrap();
/// let done = incoming.accept().unwrap();
/// assert!(done.response.starts_with(b"HTTP/1.1 101 "));
/// let connection = done.connection(Config::default());
/// # let _ = connection;
/// ```
#[derive(Debug)]
pub struct Acceptor {
    config: AcceptorConfig,
    pending: Pending,
    finished: bool,
    /// A complete head that failed the checks, until taken (`take_refused`).
    refused: Option<Box<RequestHead>>,
}

impl Acceptor {
    /// An acceptor waiting for a request.
    pub fn new(config: AcceptorConfig) -> Self {
        Acceptor {
            config,
            pending: Pending::default(),
            finished: false,
            refused: None,
        }
    }

    /// The rules it checks requests with.
    pub fn config(&self) -> &AcceptorConfig {
        &self.config
    }

    /// Heap bytes held for an incomplete request head: 0 unless the head arrived in
    /// pieces, then exactly what arrived (never more than the size bound).
    pub fn buffered_bytes(&self) -> usize {
        self.pending.capacity()
    }

    /// Feeds received bytes. `Ok(None)`: the head is not complete yet. `Ok(Some)`: the
    /// request passed every check; the bytes after its head travel in the [`Incoming`].
    /// `Err`: answer with [`HandshakeError::response`] and close.
    ///
    /// The acceptor is spent once it returned a request or an error; feeding it again
    /// is an error (status 500).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Incoming>, HandshakeError> {
        if self.finished {
            return Err(HandshakeError::new(
                500,
                "The opening handshake was already read",
            ));
        }
        let limits = self.config.limits;
        let read = self
            .pending
            .feed(bytes, &limits, |b| head::parse_request(b, &limits));
        let result = match read {
            Ok(None) => return Ok(None),
            Ok(Some((req, leftover))) => {
                let head::ParsedRequest { head, method, path } = req;
                match self.check(head, method, path, leftover) {
                    Ok(incoming) => Ok(Some(incoming)),
                    Err((e, refused)) => {
                        self.refused = refused;
                        Err(e)
                    }
                }
            }
            Err(e) => Err(match e {
                HeadError::TooManyFields => HandshakeError::new(431, "Too many headers"),
                HeadError::TooLarge => HandshakeError::new(431, "Request Header Fields Too Large"),
                HeadError::NotHttp11 => HandshakeError::new(505, "HTTP/1.1 required"),
                HeadError::Malformed => HandshakeError::new(400, "Malformed HTTP request"),
            }),
        };
        self.finished = true;
        result
    }

    /// The request whose checks [`feed`](Self::feed) just failed, once: a complete
    /// head that asked for an upgrade (`None` for a malformed or oversized head, and
    /// for plain HTTP answered with 426). `ws` hands such a request to its
    /// `'wsClientError'` listeners with the error, to answer as they like.
    pub fn take_refused(&mut self) -> Option<RequestHead> {
        self.refused.take().map(|b| *b)
    }

    /// Checks a request head that was parsed elsewhere (e.g. by Node's HTTP server,
    /// which also bounded it), with the same rules as [`feed`](Self::feed). Repeated
    /// fields are joined with ", " as Node joins them.
    pub fn validate(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Incoming, HandshakeError> {
        if headers.len() > self.config.limits.max_headers {
            return Err(HandshakeError::new(431, "Too many headers"));
        }
        let (head, [m, p]) = Head::from_parts([method, path], headers);
        self.check(head, m, p, Vec::new()).map_err(|(e, _)| e)
    }

    /// RFC 6455 §4.2.1, in `ws`'s order: method, (Host), Upgrade, (Connection), key,
    /// version. The subprotocol list is checked when the application has routed the
    /// request ([`Incoming::accept`]), as `ws` checks it after its `path` option.
    fn check(
        &self,
        head: Head,
        method: Range<usize>,
        path: Range<usize>,
        leftover: Vec<u8>,
    ) -> Result<Incoming, (HandshakeError, Option<Box<RequestHead>>)> {
        let cfg = &self.config;
        // Past the plain-HTTP answer, a failed check keeps the request for the caller.
        let refuse = |e: HandshakeError, head: Head| {
            let request = RequestHead {
                head,
                method: method.clone(),
                path: path.clone(),
            };
            Err((e, Some(Box::new(request))))
        };
        if cfg.answer_plain_http
            && !(head.field("upgrade").is_some()
                && head
                    .field("connection")
                    .is_some_and(|v| fields::has_token(&v, "upgrade")))
        {
            let answer = crate::ws::upgrade_required();
            // Node keeps an HTTP/1.1 connection alive (RFC 7230 §6.3) unless asked to
            // close. Kept alive here only when nothing follows the head: a body or a
            // pipelined request closes the connection after the answer instead.
            let closes = head
                .field("connection")
                .is_some_and(|v| fields::has_token(&v, "close"));
            let body = head.field("transfer-encoding").is_some()
                || head
                    .field("content-length")
                    .is_some_and(|v| v.trim() != "0");
            if closes || body || !leftover.is_empty() {
                return Err((answer, None));
            }
            return Err((answer.kept_alive(), None));
        }
        if head.text(method.clone()) != "GET" {
            return refuse(HandshakeError::new(405, "Invalid HTTP method"), head);
        }
        if cfg.require_host && head.field("host").is_none() {
            return refuse(HandshakeError::new(400, "Missing Host header"), head);
        }
        if !head
            .field("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
        {
            return refuse(HandshakeError::new(400, "Invalid Upgrade header"), head);
        }
        if cfg.require_connection_upgrade
            && !head
                .field("connection")
                .is_some_and(|v| fields::has_token(&v, "upgrade"))
        {
            return refuse(HandshakeError::new(400, "Invalid Connection header"), head);
        }
        let Some(key) = head
            .field("sec-websocket-key")
            .and_then(|k| fields::parse_key(&k))
        else {
            let e = HandshakeError::new(400, "Missing or invalid Sec-WebSocket-Key header");
            return refuse(e, head);
        };
        let version = match head
            .field("sec-websocket-version")
            .and_then(|v| version(&v))
        {
            Some(13) => 13,
            Some(8) if cfg.allow_version_8 => 8,
            _ => {
                // §4.4: answer with the versions we speak.
                let speak = if cfg.allow_version_8 { "13, 8" } else { "13" };
                let mut e = HandshakeError::new(
                    cfg.bad_version_status,
                    "Missing or invalid Sec-WebSocket-Version header",
                );
                e.headers
                    .push(("Sec-WebSocket-Version".into(), speak.into()));
                return refuse(e, head);
            }
        };
        let protocols = match head.field("sec-websocket-protocol") {
            None => Some(Vec::new()),
            Some(v) => fields::parse_protocols(&v),
        };
        Ok(Incoming {
            request: Request {
                head: RequestHead { head, method, path },
                key,
                version,
                protocols,
            },
            leftover,
            reject_unacceptable_deflate: cfg.reject_unacceptable_deflate,
            protocol: None,
            deflate: None,
            extra: Vec::new(),
        })
    }
}

/// The version number as `ws` reads it (a JavaScript number: "13", " 13 ", "13.0").
fn version(v: &str) -> Option<u8> {
    let n: f64 = v.trim().parse().ok()?;
    [8u8, 13].into_iter().find(|&k| f64::from(k) == n)
}

/// A request head as received: its method, target and header fields. A checked
/// [`Request`] reads as one (it derefs to its head); a request that failed the checks
/// is one alone ([`Acceptor::take_refused`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    head: Head,
    method: Range<usize>,
    path: Range<usize>,
}

impl RequestHead {
    /// The method (always `GET` in a checked [`Request`]).
    pub fn method(&self) -> &str {
        self.head.text(self.method.clone())
    }

    /// The request target, e.g. `/chat?room=1`.
    pub fn path(&self) -> &str {
        self.head.text(self.path.clone())
    }

    /// A header's value, repeated fields joined with ", " (RFC 7230 §3.2.2); bytes that
    /// are not UTF-8 read as U+FFFD.
    pub fn header(&self, name: &str) -> Option<Cow<'_, str>> {
        self.head.field(name)
    }

    /// Every header as (name, raw value), in the order received.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.head.fields()
    }
}

/// A checked upgrade request (RFC 6455 §4.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    head: RequestHead,
    key: [u8; 24],
    version: u8,
    /// `None`: the `Sec-WebSocket-Protocol` header is malformed.
    protocols: Option<Vec<String>>,
}

/// The method, target and headers of the request (see [`RequestHead`]).
impl std::ops::Deref for Request {
    type Target = RequestHead;

    fn deref(&self) -> &RequestHead {
        &self.head
    }
}

impl Request {
    /// The client's `Sec-WebSocket-Key`.
    pub fn key(&self) -> &str {
        std::str::from_utf8(&self.key).unwrap_or("")
    }

    /// The protocol version asked for: 13, or 8 where allowed.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The `Host` header.
    pub fn host(&self) -> Option<Cow<'_, str>> {
        self.head.header("host")
    }

    /// The origin: `Origin`, or `Sec-WebSocket-Origin` for version 8 (as `ws` reads it).
    pub fn origin(&self) -> Option<Cow<'_, str>> {
        self.head.header(if self.version == 8 {
            "sec-websocket-origin"
        } else {
            "origin"
        })
    }

    /// The subprotocols the client offered, in its order of preference, or the 400 to
    /// answer when its `Sec-WebSocket-Protocol` header is malformed.
    pub fn protocols(&self) -> Result<&[String], HandshakeError> {
        self.protocols
            .as_deref()
            .ok_or_else(|| HandshakeError::new(400, "Invalid Sec-WebSocket-Protocol header"))
    }

    /// The client's `Sec-WebSocket-Extensions` offer.
    pub fn extensions(&self) -> Option<Cow<'_, str>> {
        self.head.header("sec-websocket-extensions")
    }
}

/// A checked request waiting for the application's decision: route it, choose a
/// subprotocol, negotiate permessage-deflate, add response headers, then
/// [`accept`](Self::accept) — or [`reject`](Self::reject) it.
#[derive(Debug, Clone)]
pub struct Incoming {
    request: Request,
    leftover: Vec<u8>,
    reject_unacceptable_deflate: bool,
    protocol: Option<String>,
    deflate: Option<(DeflateParams, String)>,
    /// Extra response header lines, checked.
    extra: Vec<u8>,
}

impl Incoming {
    /// The request.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Answers the client's permessage-deflate offer (RFC 7692 §7.1) with `config`.
    /// `Ok(None)`: no offer, or none acceptable (then the connection goes on without
    /// compression, unless [`AcceptorConfig::reject_unacceptable_deflate`] makes that a
    /// 400). Calling it again replaces the earlier answer.
    pub fn negotiate_deflate(
        &mut self,
        config: &DeflateConfig,
    ) -> Result<Option<&DeflateParams>, HandshakeError> {
        self.deflate = None;
        if cfg!(not(feature = "deflate")) {
            return Ok(None);
        }
        let Some(offer) = self.request.extensions() else {
            return Ok(None);
        };
        self.deflate = if self.reject_unacceptable_deflate {
            config.accept_strict(&offer)?
        } else {
            config.accept(&offer)?
        };
        Ok(self.deflate.as_ref().map(|(p, _)| p))
    }

    /// Chooses the subprotocol to answer with. It should be one the client offered
    /// (RFC 6455 §4.2.2: a client fails the connection otherwise); it must be a token.
    pub fn select_protocol(&mut self, protocol: &str) -> Result<(), HeaderError> {
        if !fields::is_token(protocol) {
            return Err(HeaderError::InvalidSubprotocol(protocol.to_string()));
        }
        self.protocol = Some(protocol.to_string());
        Ok(())
    }

    /// Adds a header to the `101` response (not one the handshake writes itself).
    pub fn add_header(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        fields::check_extra_header(name, value, &RESPONSE_HEADERS)?;
        wire::push_line(&mut self.extra, name, value);
        Ok(())
    }

    /// Accepts the upgrade: the `101` response, the bytes after the request head, and
    /// what was agreed. Fails (400) only when the client's `Sec-WebSocket-Protocol`
    /// header is malformed.
    pub fn accept(self) -> Result<Established, HandshakeError> {
        self.request.protocols()?;
        let extensions = self.deflate.as_ref().map(|(_, h)| h.clone());
        let response = wire::switching_protocols(
            self.request.key(),
            self.protocol.as_deref(),
            extensions.as_deref(),
            &self.extra,
        );
        Ok(Established {
            response,
            leftover: self.leftover,
            protocol: self.protocol,
            extensions,
            deflate: self.deflate.map(|(p, _)| p),
            role: Role::Server,
        })
    }

    /// Refuses the upgrade: write the returned error's
    /// [`response`](HandshakeError::response) and close. Add headers to it with
    /// [`HandshakeError::with_header`].
    pub fn reject(self, status: u16, message: &str) -> HandshakeError {
        HandshakeError::new(status, message)
    }
}
