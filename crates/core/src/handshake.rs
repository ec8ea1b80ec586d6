//! The opening handshake (RFC 6455 §4): client request builder and response validator,
//! server request parser/validator and response builders. HTTP syntax is parsed by
//! `httparse`; header count and size are bounded before anything is allocated for them.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::borrow::Cow;
use std::fmt;

use crate::deflate::{DeflateConfig, DeflateParams};

/// RFC 6455 §1.3: the GUID appended to the client's key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a client key (RFC 6455 §1.3, §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(GUID.as_bytes());
    B64.encode(h.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64 (§4.1).
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    crate::rng::fill(&mut nonce);
    B64.encode(nonce)
}

/// A failed handshake: the HTTP status to answer with (server) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeError {
    pub status: u16,
    pub message: String,
    /// Extra response headers (e.g. `Sec-WebSocket-Version` with a 426).
    pub headers: Vec<(String, String)>,
}

impl HandshakeError {
    pub fn new(status: u16, message: &str) -> Self {
        HandshakeError {
            status,
            message: message.to_string(),
            headers: Vec::new(),
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HandshakeError {}

/// Bounds on the handshake's HTTP head (what CVE-2024-37890 and CVE-2021-32640 abused).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_headers: usize,
    pub max_header_bytes: usize,
    /// Also accept `Sec-WebSocket-Version: 8` (hybi-08 framing is the same), as `ws` does.
    pub allow_version_8: bool,
    /// Status for an unsupported version: 426 (RFC 6455 §4.4); `ws` answers 400.
    pub bad_version_status: u16,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 64,
            max_header_bytes: 16 * 1024,
            allow_version_8: false,
            bad_version_status: 426,
        }
    }
}

/// A parsed HTTP request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.header_refs(), name).map(Cow::into_owned)
    }

    pub fn header_refs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

fn head_error(e: httparse::Error) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::new(431, "Too many headers"),
        _ => HandshakeError::new(400, "Malformed HTTP request"),
    }
}

fn owned_headers(hs: &[httparse::Header<'_>]) -> Result<Vec<(String, String)>, HandshakeError> {
    hs.iter()
        .map(|h| {
            let v = std::str::from_utf8(h.value)
                .map_err(|_| HandshakeError::new(400, "Invalid header value"))?;
            Ok((h.name.to_string(), v.trim().to_string()))
        })
        .collect()
}

fn check_size(buf: &[u8], limits: &Limits) -> Result<(), HandshakeError> {
    if buf.len() > limits.max_header_bytes {
        Err(HandshakeError::new(431, "Request Header Fields Too Large"))
    } else {
        Ok(())
    }
}

/// Parses a request head from `buf`. `Ok(None)`: the head is not complete yet.
/// On success, returns the request and the number of bytes it took (frames may follow).
pub fn parse_request(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Request, usize)>, HandshakeError> {
    let mut hs = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut hs);
    match req.parse(buf).map_err(head_error)? {
        httparse::Status::Partial => check_size(buf, limits).map(|_| None),
        httparse::Status::Complete(n) => {
            check_size(&buf[..n], limits)?;
            if req.version != Some(1) {
                return Err(HandshakeError::new(505, "HTTP/1.1 required"));
            }
            Ok(Some((
                Request {
                    method: req.method.unwrap_or_default().to_string(),
                    path: req.path.unwrap_or_default().to_string(),
                    headers: owned_headers(req.headers)?,
                },
                n,
            )))
        }
    }
}

/// A parsed response head: (status, headers, bytes it took).
pub type ParsedResponse = (u16, Vec<(String, String)>, usize);

/// Parses a response head: (status, headers, bytes used). `Ok(None)`: incomplete.
pub fn parse_response(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<ParsedResponse>, HandshakeError> {
    let mut hs = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut res = httparse::Response::new(&mut hs);
    match res.parse(buf).map_err(head_error)? {
        httparse::Status::Partial => check_size(buf, limits).map(|_| None),
        httparse::Status::Complete(n) => {
            check_size(&buf[..n], limits)?;
            Ok(Some((
                res.code.unwrap_or(0),
                owned_headers(res.headers)?,
                n,
            )))
        }
    }
}

/// The value of a header, with repeated headers joined by ", " (RFC 7230 §3.2.2).
fn header<'a>(headers: &[(&'a str, &'a str)], name: &str) -> Option<Cow<'a, str>> {
    let mut found = headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v);
    let first = found.next()?;
    match found.next() {
        None => Some(Cow::Borrowed(first)),
        Some(second) => {
            let mut joined = format!("{first}, {second}");
            for v in found {
                joined.push_str(", ");
                joined.push_str(v);
            }
            Some(Cow::Owned(joined))
        }
    }
}

/// Whether a comma-separated header contains `token`, case-insensitively.
pub fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// What a valid upgrade request asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeRequest {
    pub key: String,
    pub version: u8,
    pub protocols: Vec<String>,
    pub extensions: Option<String>,
    pub host: Option<String>,
    pub origin: Option<String>,
}

/// Whether `s` is an RFC 7230 §3.2.6 token (the syntax of subprotocol names).
pub fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// Parses a `Sec-WebSocket-Protocol` list (RFC 6455 §4.1: tokens, no repeats).
pub fn parse_protocols(value: &str) -> Result<Vec<String>, HandshakeError> {
    let mut out: Vec<String> = Vec::new();
    for p in value.split(',').map(str::trim) {
        if !is_token(p) || out.iter().any(|q| q == p) {
            return Err(HandshakeError::new(
                400,
                "Invalid Sec-WebSocket-Protocol header",
            ));
        }
        out.push(p.to_string());
    }
    Ok(out)
}

/// Checks a client's upgrade request (RFC 6455 §4.2.1).
pub fn validate_request(
    method: &str,
    headers: &[(&str, &str)],
    limits: &Limits,
) -> Result<UpgradeRequest, HandshakeError> {
    if headers.len() > limits.max_headers {
        return Err(HandshakeError::new(431, "Too many headers"));
    }
    if method != "GET" {
        return Err(HandshakeError::new(405, "Invalid HTTP method"));
    }
    let host = header(headers, "host").map(Cow::into_owned);
    if host.is_none() {
        return Err(HandshakeError::new(400, "Missing Host header"));
    }
    if !header(headers, "upgrade").is_some_and(|v| has_token(&v, "websocket")) {
        return Err(HandshakeError::new(400, "Invalid Upgrade header"));
    }
    if !header(headers, "connection").is_some_and(|v| has_token(&v, "upgrade")) {
        return Err(HandshakeError::new(400, "Invalid Connection header"));
    }
    let key = header(headers, "sec-websocket-key").unwrap_or_default();
    let key = key.as_ref();
    // §4.1: a base64-encoded 16-byte value is exactly 24 characters ending in "==".
    let key_ok = key.len() == 24 && B64.decode(key).map(|k| k.len() == 16).unwrap_or(false);
    if !key_ok {
        return Err(HandshakeError::new(
            400,
            "Missing or invalid Sec-WebSocket-Key header",
        ));
    }
    let version = match header(headers, "sec-websocket-version").as_deref() {
        Some("13") => 13,
        Some("8") if limits.allow_version_8 => 8,
        _ => {
            // §4.4: answer 426 with the versions we speak.
            let mut e = HandshakeError::new(
                limits.bad_version_status,
                "Missing or invalid Sec-WebSocket-Version header",
            );
            let v = if limits.allow_version_8 {
                "13, 8"
            } else {
                "13"
            };
            e.headers.push(("Sec-WebSocket-Version".into(), v.into()));
            return Err(e);
        }
    };
    let protocols = match header(headers, "sec-websocket-protocol") {
        Some(v) => parse_protocols(&v)?,
        None => Vec::new(),
    };
    Ok(UpgradeRequest {
        key: key.to_string(),
        version,
        protocols,
        extensions: header(headers, "sec-websocket-extensions").map(Cow::into_owned),
        host,
        origin: header(headers, "origin")
            .or_else(|| header(headers, "sec-websocket-origin"))
            .map(Cow::into_owned),
    })
}

/// The server's `101 Switching Protocols` response (§4.2.2).
pub fn response(
    key: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut s = String::with_capacity(160);
    s.push_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    s.push_str(&accept_key(key));
    s.push_str("\r\n");
    if let Some(p) = protocol {
        s.push_str("Sec-WebSocket-Protocol: ");
        s.push_str(p);
        s.push_str("\r\n");
    }
    if let Some(e) = extensions {
        s.push_str("Sec-WebSocket-Extensions: ");
        s.push_str(e);
        s.push_str("\r\n");
    }
    for (k, v) in extra {
        s.push_str(k);
        s.push_str(": ");
        s.push_str(v);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// The standard reason phrase of the statuses the handshake uses.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}

/// An HTTP error response that ends the connection (as `ws`'s abortHandshake writes it).
pub fn error_response(err: &HandshakeError) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Type: text/html\r\nContent-Length: {}\r\n",
        err.status,
        reason_phrase(err.status),
        err.message.len()
    );
    for (k, v) in &err.headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.push_str(&err.message);
    s.into_bytes()
}

/// A client's upgrade request (§4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRequest {
    pub host: String,
    pub path: String,
    pub key: String,
    pub origin: Option<String>,
    pub protocols: Vec<String>,
    pub extensions: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl ClientRequest {
    pub fn new(host: &str, path: &str) -> Self {
        ClientRequest {
            host: host.to_string(),
            path: if path.is_empty() {
                "/".into()
            } else {
                path.to_string()
            },
            key: generate_key(),
            origin: None,
            protocols: Vec::new(),
            extensions: None,
            headers: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n",
            self.path, self.host, self.key
        );
        if let Some(o) = &self.origin {
            s.push_str(&format!("Origin: {o}\r\n"));
        }
        if !self.protocols.is_empty() {
            s.push_str(&format!(
                "Sec-WebSocket-Protocol: {}\r\n",
                self.protocols.join(", ")
            ));
        }
        if let Some(e) = &self.extensions {
            s.push_str(&format!("Sec-WebSocket-Extensions: {e}\r\n"));
        }
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        s.push_str("\r\n");
        s.into_bytes()
    }
}

/// What the server agreed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub protocol: Option<String>,
    pub deflate: Option<DeflateParams>,
    /// The `Sec-WebSocket-Extensions` value as the server sent it ("" if none).
    pub extensions: String,
}

/// Checks the server's response to our request (§4.2.2, §4.1 client requirements).
pub fn validate_response(
    key: &str,
    offered_protocols: &[String],
    offered_deflate: Option<&DeflateConfig>,
    status: u16,
    headers: &[(&str, &str)],
) -> Result<Accepted, HandshakeError> {
    let fail = |m: &str| Err(HandshakeError::new(status, m));
    if status != 101 {
        return fail(&format!("Unexpected server response: {status}"));
    }
    if !header(headers, "upgrade").is_some_and(|v| has_token(&v, "websocket")) {
        return fail("Invalid Upgrade header");
    }
    if !header(headers, "connection").is_some_and(|v| has_token(&v, "upgrade")) {
        return fail("Invalid Connection header");
    }
    if header(headers, "sec-websocket-accept").as_deref() != Some(accept_key(key).as_str()) {
        return fail("Invalid Sec-WebSocket-Accept header");
    }
    let protocol = header(headers, "sec-websocket-protocol").map(Cow::into_owned);
    match &protocol {
        Some(_) if offered_protocols.is_empty() => {
            return fail("Server sent a subprotocol but none was requested")
        }
        Some(p) if !offered_protocols.contains(p) => {
            return fail("Server sent an invalid subprotocol")
        }
        None if !offered_protocols.is_empty() => return fail("Server sent no subprotocol"),
        _ => {}
    }
    let extensions = header(headers, "sec-websocket-extensions")
        .map(Cow::into_owned)
        .unwrap_or_default();
    let deflate = if extensions.is_empty() {
        None
    } else {
        match offered_deflate {
            None => return fail("Server indicated an extension that was not requested"),
            Some(cfg) => Some(cfg.accept_response(&extensions).map_err(|mut e| {
                e.status = status;
                e
            })?),
        }
    };
    Ok(Accepted {
        protocol,
        deflate,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn rfc6455_1_3_accept_vector() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn rfc6455_4_2_1_valid_request() {
        let (req, n) = parse_request(REQ.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(n, REQ.len());
        let up = validate_request(&req.method, &req.header_refs(), &Limits::default()).unwrap();
        assert_eq!(up.key, "dGhlIHNhbXBsZSBub25jZQ==");
        assert_eq!(up.protocols, vec!["chat", "superchat"]);
        assert_eq!(up.origin.as_deref(), Some("http://example.com"));
        let resp = String::from_utf8(response(&up.key, Some("chat"), None, &[])).unwrap();
        assert!(resp.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(resp.ends_with("\r\n\r\n"));
    }

    #[test]
    fn partial_request_needs_more() {
        assert_eq!(
            parse_request(&REQ.as_bytes()[..40], &Limits::default()).unwrap(),
            None
        );
    }

    fn check(req: &str) -> Result<UpgradeRequest, HandshakeError> {
        let (r, _) = parse_request(req.as_bytes(), &Limits::default())?.unwrap();
        validate_request(&r.method, &r.header_refs(), &Limits::default())
    }

    #[test]
    fn rfc6455_4_2_1_bad_requests() {
        assert_eq!(check(&REQ.replace("GET", "POST")).unwrap_err().status, 405);
        assert_eq!(
            check(&REQ.replace("Upgrade: websocket", "Upgrade: h2c"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            check(&REQ.replace("keep-alive, Upgrade", "keep-alive"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            check(&REQ.replace("dGhlIHNhbXBsZSBub25jZQ==", "abc"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            check(&REQ.replace("Host: server.example.com\r\n", ""))
                .unwrap_err()
                .status,
            400
        );
        let e = check(&REQ.replace("Version: 13", "Version: 12")).unwrap_err();
        assert_eq!(e.status, 426);
        assert_eq!(
            e.headers,
            vec![("Sec-WebSocket-Version".to_string(), "13".to_string())]
        );
        assert_eq!(
            check(&REQ.replace("chat, superchat", "chat, chat"))
                .unwrap_err()
                .status,
            400
        );
        assert!(check(&REQ.replace("HTTP/1.1", "HTTP/1.0")).is_err());
    }

    #[test]
    fn header_count_and_size_bounded() {
        // CVE-2024-37890-style input: more headers than we are willing to parse.
        let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
        let req = REQ.replace("\r\n\r\n", &format!("\r\n{many}\r\n"));
        assert_eq!(
            parse_request(req.as_bytes(), &Limits::default())
                .unwrap_err()
                .status,
            431
        );
        let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(20_000));
        assert_eq!(
            parse_request(huge.as_bytes(), &Limits::default())
                .unwrap_err()
                .status,
            431
        );
        assert_eq!(
            parse_request(b"\x00\x01garbage\r\n\r\n", &Limits::default())
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn error_response_has_status_and_reason() {
        let mut e = HandshakeError::new(426, "Missing or invalid Sec-WebSocket-Version header");
        e.headers
            .push(("Sec-WebSocket-Version".into(), "13".into()));
        let s = String::from_utf8(error_response(&e)).unwrap();
        assert!(s.starts_with("HTTP/1.1 426 Upgrade Required\r\n"));
        assert!(s.contains("Sec-WebSocket-Version: 13\r\n"));
        assert!(s.ends_with("\r\n\r\nMissing or invalid Sec-WebSocket-Version header"));
    }

    fn server_reply(req: &ClientRequest, proto: Option<&str>, ext: Option<&str>) -> Vec<u8> {
        response(&req.key, proto, ext, &[])
    }

    fn client_check(
        req: &ClientRequest,
        resp: &[u8],
        deflate: Option<&DeflateConfig>,
    ) -> Result<Accepted, HandshakeError> {
        let (status, hs, _) = parse_response(resp, &Limits::default())?.unwrap();
        let refs: Vec<(&str, &str)> = hs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        validate_response(&req.key, &req.protocols, deflate, status, &refs)
    }

    #[test]
    fn rfc6455_4_1_client_round_trip() {
        let mut req = ClientRequest::new("localhost:9001", "/x?y=1");
        req.protocols = vec!["chat".into()];
        let cfg = DeflateConfig::default();
        req.extensions = Some(cfg.offer());
        let bytes = req.to_bytes();
        let (r, _) = parse_request(&bytes, &Limits::default()).unwrap().unwrap();
        let up = validate_request(&r.method, &r.header_refs(), &Limits::default()).unwrap();
        let (_, ext) = cfg
            .accept(up.extensions.as_deref().unwrap())
            .unwrap()
            .unwrap();
        let acc = client_check(
            &req,
            &server_reply(&req, Some("chat"), Some(&ext)),
            Some(&cfg),
        )
        .unwrap();
        assert_eq!(acc.protocol.as_deref(), Some("chat"));
        assert!(acc.deflate.is_some());
    }

    #[test]
    fn rfc6455_4_1_client_rejects_bad_responses() {
        let mut req = ClientRequest::new("h", "/");
        let ok = server_reply(&req, None, None);
        assert!(client_check(&req, &ok, None).is_ok());
        let bad_accept = String::from_utf8(ok.clone())
            .unwrap()
            .replace("Accept: ", "Accept: x");
        assert_eq!(
            client_check(&req, bad_accept.as_bytes(), None)
                .unwrap_err()
                .message,
            "Invalid Sec-WebSocket-Accept header"
        );
        let e = client_check(&req, b"HTTP/1.1 403 Forbidden\r\n\r\n", None).unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (403, "Unexpected server response: 403")
        );
        assert_eq!(
            client_check(&req, &server_reply(&req, Some("x"), None), None)
                .unwrap_err()
                .message,
            "Server sent a subprotocol but none was requested"
        );
        assert_eq!(
            client_check(
                &req,
                &server_reply(&req, None, Some("permessage-deflate")),
                None
            )
            .unwrap_err()
            .message,
            "Server indicated an extension that was not requested"
        );
        req.protocols = vec!["a".into()];
        assert_eq!(
            client_check(&req, &server_reply(&req, Some("b"), None), None)
                .unwrap_err()
                .message,
            "Server sent an invalid subprotocol"
        );
        assert_eq!(
            client_check(&req, &server_reply(&req, None, None), None)
                .unwrap_err()
                .message,
            "Server sent no subprotocol"
        );
    }

    #[test]
    fn case_insensitive_tokens_and_repeated_headers() {
        let h = [
            ("UPGRADE", "WebSocket"),
            ("connection", "foo"),
            ("Connection", "UPGRADE"),
            ("host", "h"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ];
        assert!(validate_request("GET", &h, &Limits::default()).is_ok());
    }
}
