//! Both roles against each other and against hand-written heads: RFC 6455 §4 rules,
//! `ws` 8.23's check order and messages, bounds, header checks, any split of the input.

use super::*;
use crate::deflate::DeflateConfig;
use crate::{Config, Event};
use proptest::prelude::*;

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const REQ: &str = "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn server(req: &str) -> Result<Incoming, HandshakeError> {
    server_with(req, AcceptorConfig::default())
}

fn server_with(req: &str, cfg: AcceptorConfig) -> Result<Incoming, HandshakeError> {
    Acceptor::new(cfg)
        .feed(req.as_bytes())?
        .ok_or_else(|| HandshakeError::new(0, "incomplete"))
}

fn server_error(req: &str, cfg: AcceptorConfig) -> (u16, String) {
    let e = server_with(req, cfg)
        .and_then(Incoming::accept)
        .unwrap_err();
    (e.status, e.message)
}

#[test]
fn rfc6455_1_3_accept_vector() {
    assert_eq!(accept_key(KEY), ACCEPT);
    assert_eq!(generate_key().len(), 24);
    assert_ne!(generate_key(), generate_key());
}

#[test]
fn rfc6455_4_2_1_valid_request_and_101() {
    let mut inc = server(REQ).unwrap();
    let r = inc.request();
    assert_eq!(
        (r.method(), r.path(), r.key(), r.version()),
        ("GET", "/chat", KEY, 13)
    );
    assert_eq!(r.protocols().unwrap(), ["chat", "superchat"]);
    assert_eq!(r.origin().as_deref(), Some("http://example.com"));
    assert_eq!(r.host().as_deref(), Some("server.example.com"));
    assert_eq!(r.headers().count(), 7);
    inc.select_protocol("chat").unwrap();
    inc.add_header("Set-Cookie", "a=b").unwrap();
    let done = inc.accept().unwrap();
    assert_eq!(
        String::from_utf8(done.response.clone()).unwrap(),
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {ACCEPT}\r\nSec-WebSocket-Protocol: chat\r\nSet-Cookie: a=b\r\n\r\n"
        )
    );
    assert_eq!(done.protocol.as_deref(), Some("chat"));
    assert_eq!(done.role(), Role::Server);
}

/// `ws` 8.23 `handleUpgrade` order: method, Upgrade, key, version, subprotocols; with
/// the RFC's Host and Connection checks in their places when they are on.
#[test]
fn server_check_order_and_messages_follow_ws() {
    let ws = AcceptorConfig::ws;
    let all_bad = "POST / HTTP/1.1\r\nUpgrade: h2c\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 1\r\nSec-WebSocket-Protocol: a,,\r\n\r\n";
    let steps = [
        ("POST", "GET", (405, "Invalid HTTP method")),
        (
            "Upgrade: h2c",
            "Upgrade: WebSocket",
            (400, "Invalid Upgrade header"),
        ),
        (
            "Key: x",
            &format!("Key: {KEY}"),
            (400, "Missing or invalid Sec-WebSocket-Key header"),
        ),
        (
            "Version: 1",
            "Version: 8",
            (400, "Missing or invalid Sec-WebSocket-Version header"),
        ),
        (
            "Protocol: a,,",
            "Protocol: a",
            (400, "Invalid Sec-WebSocket-Protocol header"),
        ),
    ];
    let mut req = all_bad.to_string();
    for (bad, good, expected) in steps {
        let (status, message) = server_error(&req, ws());
        assert_eq!((status, message.as_str()), expected, "{req}");
        req = req.replace(bad, good);
    }
    // Everything fixed: accepted without Host and Connection, as ws does.
    assert!(server_with(&req, ws()).unwrap().accept().is_ok());
    // The RFC's checks, when on.
    assert_eq!(
        server_error(
            &req,
            AcceptorConfig {
                allow_version_8: true,
                ..Default::default()
            }
        ),
        (400, "Missing Host header".to_string())
    );
    let with_host = req.replace("\r\n\r\n", "\r\nHost: h\r\n\r\n");
    assert_eq!(
        server_error(
            &with_host,
            AcceptorConfig {
                allow_version_8: true,
                ..Default::default()
            }
        ),
        (400, "Invalid Connection header".to_string())
    );
}

#[test]
fn rfc6455_4_4_bad_version_names_the_versions_spoken() {
    let req = REQ.replace("Version: 13", "Version: 12");
    let e = server(&req).unwrap_err();
    assert_eq!(e.status, 426);
    assert_eq!(
        e.headers(),
        [("Sec-WebSocket-Version".to_string(), "13".to_string())]
    );
    let s = String::from_utf8(e.response()).unwrap();
    assert!(
        s.starts_with("HTTP/1.1 426 Upgrade Required\r\nConnection: close\r\n"),
        "{s}"
    );
    assert!(s.contains("Sec-WebSocket-Version: 13\r\n"));
    assert!(s.ends_with("\r\n\r\nMissing or invalid Sec-WebSocket-Version header"));
    let e = server_with(&req, AcceptorConfig::ws()).unwrap_err();
    assert_eq!(e.status, 400);
    assert_eq!(e.headers()[0].1, "13, 8");
    // Read as ws reads a number.
    for v in [" 13", "13.0", "+13"] {
        assert!(
            server(&REQ.replace("Version: 13", &format!("Version: {v}"))).is_ok(),
            "{v}"
        );
    }
}

#[test]
fn key_follows_ws_rule() {
    for bad in [
        "abc",
        "dGhlIHNhbXBsZSBub25jZQ=",
        "dGhlIHNhbXBsZSBub25jZ===",
        "dGhlIHNhbXBsZSBub25jZ-==",
    ] {
        let e = server(&REQ.replace(KEY, bad)).unwrap_err();
        assert_eq!(
            e.message, "Missing or invalid Sec-WebSocket-Key header",
            "{bad}"
        );
    }
    // Two keys join into one invalid value.
    let two = REQ.replace("Origin", &format!("Sec-WebSocket-Key: {KEY}\r\nOrigin"));
    assert_eq!(server(&two).unwrap_err().status, 400);
}

#[test]
fn heads_are_bounded_431() {
    // CVE-2024-37890 class: more headers than we are willing to parse.
    let many: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = REQ.replace("\r\n\r\n", &format!("\r\n{many}\r\n"));
    assert_eq!(server(&req).unwrap_err().status, 431);
    let huge = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(20_000));
    assert_eq!(server(&huge).unwrap_err().status, 431);
    assert_eq!(server("\x00\x01garbage\r\n\r\n").unwrap_err().status, 400);
    assert_eq!(
        server(&REQ.replace("HTTP/1.1", "HTTP/1.0"))
            .unwrap_err()
            .status,
        505
    );
    let mut a = Acceptor::new(AcceptorConfig::default());
    let headers: Vec<(&str, &str)> = (0..65).map(|_| ("X", "1")).collect();
    assert_eq!(a.validate("GET", "/", &headers).unwrap_err().status, 431);
    // Spent after an error.
    assert!(a.feed(b"GET").is_ok());
    assert!(a.feed(b"\x00").is_err());
    assert_eq!(a.feed(REQ.as_bytes()).unwrap_err().status, 500);
}

#[test]
fn leftover_is_what_followed_the_head() {
    let mut client = crate::Connection::new(Role::Client, Config::default());
    client.send_text("early").unwrap();
    let frames = client.take_output();
    let bytes = [REQ.as_bytes(), &frames].concat();
    // In two pieces, the second one carrying the end of the head and the frame.
    let mut a = Acceptor::new(AcceptorConfig::default());
    assert!(a.feed(&bytes[..REQ.len() - 3]).unwrap().is_none());
    assert_eq!(a.buffered_bytes(), REQ.len() - 3);
    let done = a
        .feed(&bytes[REQ.len() - 3..])
        .unwrap()
        .unwrap()
        .accept()
        .unwrap();
    assert_eq!(a.buffered_bytes(), 0);
    assert_eq!(done.leftover, frames);
    let mut conn = done.connection(Config::default());
    let mut got = Vec::new();
    conn.feed(&done.leftover, |e| {
        if let Event::Text(t) = e {
            got.push(t.to_string())
        }
    })
    .unwrap();
    assert_eq!(got, ["early"]);
}

#[test]
fn a_whole_head_in_one_read_is_not_buffered() {
    let mut a = Acceptor::new(AcceptorConfig::default());
    assert!(a.feed(REQ.as_bytes()).unwrap().is_some());
    assert_eq!(a.buffered_bytes(), 0);
    let fresh = Acceptor::new(AcceptorConfig::default());
    assert_eq!(fresh.buffered_bytes(), 0);
}

#[test]
fn validate_parts_reads_like_feed() {
    let a = Acceptor::new(AcceptorConfig::ws());
    let headers = [
        ("upgrade", "websocket"),
        ("sec-websocket-key", KEY),
        ("sec-websocket-version", "13"),
        ("sec-websocket-protocol", "a"),
        ("sec-websocket-protocol", "b"),
    ];
    let inc = a.validate("GET", "/x", &headers).unwrap();
    assert_eq!(inc.request().protocols().unwrap(), ["a", "b"]);
    assert_eq!(inc.request().path(), "/x");
    let e = a.validate("GET", "/x", &headers[1..]).unwrap_err();
    assert_eq!(e.message, "Invalid Upgrade header");
}

#[test]
fn response_headers_from_the_application_are_checked() {
    let mut inc = server(REQ).unwrap();
    assert_eq!(
        inc.add_header("X-A", "1\r\nX-Injected: 1"),
        Err(HeaderError::InvalidValue("X-A".into()))
    );
    assert_eq!(
        inc.add_header("X A", "1"),
        Err(HeaderError::InvalidName("X A".into()))
    );
    assert_eq!(
        inc.add_header("sec-websocket-accept", "x"),
        Err(HeaderError::Reserved("sec-websocket-accept".into()))
    );
    assert!(matches!(
        inc.select_protocol("chat\r\nX: 1"),
        Err(HeaderError::InvalidSubprotocol(_))
    ));
    let e = inc.reject(403, "Forbidden");
    assert!(e.clone().with_header("X-Why", "a\nb").is_err());
    let e = e.with_header("X-Why", "test").unwrap();
    let s = String::from_utf8(e.response()).unwrap();
    assert!(s.starts_with("HTTP/1.1 403 Forbidden\r\n"));
    assert!(s.contains("X-Why: test\r\n"));
    assert!(String::from_utf8(HandshakeError::new(7, "x").response())
        .unwrap()
        .starts_with("HTTP/1.1 500 "));
}

#[test]
fn rfc7692_deflate_negotiation_at_the_decision_point() {
    let offer = REQ.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
    );
    let mut inc = server(&offer).unwrap();
    assert!(inc
        .negotiate_deflate(&DeflateConfig::default())
        .unwrap()
        .is_some());
    let done = inc.accept().unwrap();
    let s = String::from_utf8(done.response.clone()).unwrap();
    assert!(
        s.contains("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        "{s}"
    );
    assert!(done.connection(Config::default()).deflate_enabled());
    // An unacceptable offer: declined by default, refused as ws refuses it.
    let bad = REQ.replace(
        "\r\n\r\n",
        "\r\nSec-WebSocket-Extensions: permessage-deflate; foo\r\n\r\n",
    );
    let mut inc = server(&bad).unwrap();
    assert_eq!(inc.negotiate_deflate(&DeflateConfig::default()), Ok(None));
    let mut inc = server_with(
        &bad,
        AcceptorConfig {
            reject_unacceptable_deflate: true,
            ..Default::default()
        },
    )
    .unwrap();
    let e = inc
        .negotiate_deflate(&DeflateConfig::default())
        .unwrap_err();
    assert_eq!(
        e.message,
        "Invalid or unacceptable Sec-WebSocket-Extensions header"
    );
    // No offer.
    let mut inc = server(REQ).unwrap();
    assert_eq!(inc.negotiate_deflate(&DeflateConfig::default()), Ok(None));
    assert!(!inc
        .accept()
        .unwrap()
        .response
        .windows(10)
        .any(|w| w == b"Extension"));
}

fn connector(protocols: &[&str], deflate: bool) -> Connector {
    let mut o = ClientOptions::new("localhost:9001", "/x?y=1");
    o.protocols = protocols.iter().map(|p| p.to_string()).collect();
    o.deflate = deflate.then(DeflateConfig::default);
    o.key = Some(KEY.into());
    Connector::new(o).unwrap()
}

fn client_error(c: &mut Connector, response: &str) -> String {
    c.feed(response.as_bytes()).unwrap_err().message
}

#[test]
fn rfc6455_4_1_round_trip_with_deflate_and_subprotocol() {
    let mut c = connector(&["chat", "v2"], true);
    let req = String::from_utf8(c.request().to_vec()).unwrap();
    assert!(
        req.starts_with("GET /x?y=1 HTTP/1.1\r\nHost: localhost:9001\r\n"),
        "{req}"
    );
    assert!(req.contains("Sec-WebSocket-Protocol: chat, v2\r\n"));
    let mut inc = server(&req).unwrap();
    inc.negotiate_deflate(&DeflateConfig::default()).unwrap();
    inc.select_protocol("v2").unwrap();
    let srv = inc.accept().unwrap();
    let cli = c.feed(&srv.response).unwrap().unwrap();
    assert_eq!(cli.protocol.as_deref(), Some("v2"));
    assert_eq!(cli.deflate.is_some(), srv.deflate.is_some());
    assert!(cli.deflate.is_some());
    assert_eq!(cli.extensions, srv.extensions);
    assert!(cli.response.is_empty());
    assert_eq!(cli.role(), Role::Client);
    // Messages flow both ways, compressed.
    let mut a = cli.connection(Config::default());
    let mut b = srv.connection(Config::default());
    a.send_text(&"hello ".repeat(500)).unwrap();
    let mut got = String::new();
    b.feed(&a.take_output(), |e| {
        if let Event::Text(t) = e {
            got.push_str(t)
        }
    })
    .unwrap();
    assert_eq!(got.len(), 3000);
}

fn ok_response(extra: &str) -> String {
    format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {ACCEPT}\r\n{extra}\r\n")
}

/// ws 8.23's client order: Upgrade, Sec-WebSocket-Accept, subprotocol, extensions.
#[test]
fn client_check_order_and_messages_follow_ws() {
    let all_bad = "HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nSec-WebSocket-Accept: x\r\nSec-WebSocket-Protocol: z\r\nSec-WebSocket-Extensions: foo\r\n\r\n";
    let accept = format!("Accept: {ACCEPT}");
    let steps = [
        (
            "Upgrade: h2c",
            "Upgrade: websocket",
            "Invalid Upgrade header",
        ),
        (
            "Accept: x",
            accept.as_str(),
            "Invalid Sec-WebSocket-Accept header",
        ),
        (
            "Protocol: z",
            "Protocol: chat",
            "Server sent an invalid subprotocol",
        ),
        (
            "Extensions: foo",
            "Extensions: permessage-deflate",
            "Server indicated an extension that was not requested",
        ),
    ];
    let mut res = all_bad.to_string();
    for (bad, good, expected) in steps {
        let mut o = ClientOptions::new("h", "/");
        o.protocols = vec!["chat".into()];
        o.deflate = Some(DeflateConfig::default());
        o.key = Some(KEY.into());
        o.require_connection_upgrade = false;
        let mut c = Connector::new(o).unwrap();
        assert_eq!(client_error(&mut c, &res), expected, "{res}");
        res = res.replace(bad, good);
    }
}

#[test]
fn client_rejects_bad_responses_with_ws_messages() {
    let cases = [
        (
            vec![],
            false,
            "HTTP/1.1 403 Forbidden\r\n\r\n".to_string(),
            "Unexpected server response: 403",
        ),
        (
            vec![],
            false,
            ok_response("Sec-WebSocket-Protocol: x\r\n"),
            "Server sent a subprotocol but none was requested",
        ),
        (
            vec!["a"],
            false,
            ok_response(""),
            "Server sent no subprotocol",
        ),
        (
            vec![],
            false,
            ok_response("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            "Server sent a Sec-WebSocket-Extensions header but no extension was requested",
        ),
        (
            vec![],
            true,
            ok_response("Sec-WebSocket-Extensions: permessage-deflate; x=\r\n"),
            "Invalid Sec-WebSocket-Extensions header",
        ),
        (
            vec![],
            true,
            ok_response("Sec-WebSocket-Extensions: permessage-deflate; foo\r\n"),
            "Invalid Sec-WebSocket-Extensions header",
        ),
        (
            vec![],
            true,
            ok_response("Sec-WebSocket-Extensions: permessage-deflate, x-webkit\r\n"),
            "Server indicated an extension that was not requested",
        ),
        (
            vec![],
            false,
            ok_response("").replace("Connection: Upgrade\r\n", ""),
            "Invalid Connection header",
        ),
        (
            vec![],
            false,
            "HTTP/1.1 101\r\nX\r\n\r\n".to_string(),
            "Malformed HTTP response",
        ),
    ];
    for (protocols, deflate, res, expected) in cases {
        let mut c = connector(&protocols, deflate);
        assert_eq!(client_error(&mut c, &res), expected, "{res}");
    }
    let e = connector(&[], false)
        .feed(b"HTTP/1.1 403 Forbidden\r\n\r\n")
        .unwrap_err();
    assert_eq!(e.status, 403);
    assert!(connector(&[], false)
        .feed(ok_response("").as_bytes())
        .unwrap()
        .is_some());
}

/// Issue 10 / CVE-2024-37890 class: a response whose Upgrade header cannot be read.
#[test]
fn client_unreadable_upgrade_header_is_reported_as_such() {
    let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
    let res = format!("HTTP/1.1 101 Switching Protocols\r\n{many}Upgrade: websocket\r\n\r\n");
    let e = connector(&[], false).feed(res.as_bytes()).unwrap_err();
    assert_eq!(
        (e.status, e.message.as_str()),
        (101, "Invalid Upgrade header")
    );
    let huge = format!(
        "HTTP/1.1 101 Switching Protocols\r\nX: {}\r\n",
        "a".repeat(20_000)
    );
    let e = connector(&[], false).feed(huge.as_bytes()).unwrap_err();
    assert_eq!(e.message, "Invalid Upgrade header");
}

#[test]
fn client_options_are_checked() {
    let bad = |f: fn(&mut ClientOptions)| {
        let mut o = ClientOptions::new("h", "/");
        f(&mut o);
        Connector::new(o).unwrap_err()
    };
    assert_eq!(
        bad(|o| o.host = "h\r\nX: 1".into()),
        HeaderError::InvalidValue("Host".into())
    );
    assert_eq!(
        bad(|o| o.path = "/a b".into()),
        HeaderError::InvalidPath("/a b".into())
    );
    assert_eq!(
        bad(|o| o.path = "x".into()),
        HeaderError::InvalidPath("x".into())
    );
    assert_eq!(
        bad(|o| o.protocols = vec!["a".into(), "a".into()]).to_string(),
        "An invalid or duplicated subprotocol was specified"
    );
    assert_eq!(
        bad(|o| o.headers = vec![("X".into(), "a\nb".into())]),
        HeaderError::InvalidValue("X".into())
    );
    assert_eq!(
        bad(|o| o.headers = vec![("X:".into(), "a".into())]),
        HeaderError::InvalidName("X:".into())
    );
    assert_eq!(
        bad(|o| o.headers = vec![("sec-websocket-key".into(), KEY.into())]),
        HeaderError::Reserved("sec-websocket-key".into())
    );
    assert_eq!(
        bad(|o| o.key = Some("short".into())),
        HeaderError::InvalidValue("Sec-WebSocket-Key".into())
    );
    let mut o = ClientOptions::new("h", "");
    o.headers = vec![("Origin".into(), "http://o".into())];
    let c = Connector::new(o).unwrap();
    let req = String::from_utf8(c.request().to_vec()).unwrap();
    assert!(req.starts_with("GET / HTTP/1.1\r\n") && req.contains("Origin: http://o\r\n"));
    assert_eq!(c.key().len(), 24);
    assert_eq!(c.offer(), None);
}

#[test]
fn client_validate_parts_and_leftover() {
    let c = connector(&[], false);
    let ok = [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-accept", ACCEPT),
    ];
    assert!(c.validate(101, &ok).is_ok());
    assert_eq!(
        c.validate(101, &ok[1..]).unwrap_err().message,
        "Invalid Upgrade header"
    );
    let mut c = connector(&[], false);
    let bytes = [ok_response("").as_bytes(), b"\x81\x02hi"].concat();
    assert!(c.feed(&bytes[..5]).unwrap().is_none());
    assert_eq!(c.buffered_bytes(), 5);
    let done = c.feed(&bytes[5..]).unwrap().unwrap();
    assert_eq!(done.leftover, b"\x81\x02hi");
    assert_eq!(c.buffered_bytes(), 0);
    assert!(c.feed(b"x").is_err(), "spent");
}

/// What a role decided from some input: (what it agreed, every byte after the head).
type Outcome<T> = Result<Option<(T, Vec<u8>)>, HandshakeError>;

/// Feeds `input` split at `cuts` and returns what the acceptor decided.
fn accept_in_pieces(input: &[u8], cuts: &[usize]) -> Outcome<Vec<u8>> {
    let mut a = Acceptor::new(AcceptorConfig::default());
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    for p in points {
        if let Some(inc) = a.feed(&input[at..p])? {
            let done = inc.accept()?;
            // Whatever came after the head, in this feed and any later ones.
            let mut rest = done.leftover;
            rest.extend_from_slice(&input[p..]);
            return Ok(Some((done.response, rest)));
        }
        at = p;
    }
    Ok(None)
}

fn connect_in_pieces(input: &[u8], cuts: &[usize]) -> Outcome<Option<String>> {
    let mut c = connector(&["chat"], true);
    let mut at = 0;
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    points.push(input.len());
    for p in points {
        if let Some(done) = c.feed(&input[at..p])? {
            let mut rest = done.leftover;
            rest.extend_from_slice(&input[p..]);
            return Ok(Some((done.extensions, rest)));
        }
        at = p;
    }
    Ok(None)
}

proptest! {
    #[test]
    fn any_split_of_a_request_gives_the_same_result(
        cuts in proptest::collection::vec(0usize..400, 0..8),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
        variant in 0usize..4,
    ) {
        let req = match variant {
            0 => REQ.to_string(),
            1 => REQ.replace("Version: 13", "Version: 9"),
            2 => REQ.replace("GET", "PUT"),
            _ => REQ.replace("Upgrade: websocket\r\n", ""),
        };
        let input = [req.as_bytes(), &tail].concat();
        let whole = accept_in_pieces(&input, &[]);
        prop_assert_eq!(accept_in_pieces(&input, &cuts), whole);
    }

    #[test]
    fn any_split_of_a_response_gives_the_same_result(
        cuts in proptest::collection::vec(0usize..300, 0..8),
        tail in proptest::collection::vec(any::<u8>(), 0..40),
        variant in 0usize..3,
    ) {
        let res = match variant {
            0 => ok_response("Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n"),
            1 => ok_response("Sec-WebSocket-Protocol: chat\r\n"),
            _ => ok_response(""),
        };
        let input = [res.as_bytes(), &tail].concat();
        let whole = connect_in_pieces(&input, &[]);
        prop_assert_eq!(connect_in_pieces(&input, &cuts), whole);
    }

    #[test]
    fn garbage_never_panics(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(0usize..600, 0..4),
    ) {
        let _ = accept_in_pieces(&data, &cuts);
        let _ = connect_in_pieces(&data, &cuts);
        // Garbage after a valid start line and in header values.
        let mut req = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nX: ".to_vec();
        req.extend_from_slice(&data);
        let _ = accept_in_pieces(&req, &cuts);
        let mut res = b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Extensions: ".to_vec();
        res.extend_from_slice(&data);
        let _ = connect_in_pieces(&res, &cuts);
    }

    #[test]
    fn garbage_parts_never_panic(
        names in proptest::collection::vec("[ -~]{0,12}", 0..6),
        values in proptest::collection::vec("\\PC{0,20}", 0..6),
    ) {
        let headers: Vec<(&str, &str)> = names.iter().map(String::as_str)
            .zip(values.iter().map(String::as_str)).collect();
        let _ = Acceptor::new(AcceptorConfig::ws()).validate("GET", "/", &headers);
        let _ = connector(&["chat"], true).validate(101, &headers);
        let mut o = ClientOptions::new("h", "/");
        o.headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if let Ok(c) = Connector::new(o) {
            // Whatever was accepted cannot break the request's framing.
            let req = c.request();
            prop_assert_eq!(req.windows(4).filter(|w| w == b"\r\n\r\n").count(), 1);
        }
    }
}

#[test]
fn port_mode_answers_plain_http_with_426_before_other_checks() {
    let cfg = crate::ws::port_acceptor_config();
    // No Upgrade header, or no `upgrade` token in Connection: a plain request (as Node's
    // HTTP parser decides), whatever the method.
    for req in [
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /x HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
        "GET / HTTP/1.1\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n\r\n",
    ] {
        let e = server_with(req, cfg.clone()).unwrap_err();
        assert_eq!((e.status, e.message.as_str()), (426, "Upgrade Required"));
        let text = String::from_utf8(e.response()).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
            "{text}"
        );
        assert!(text.contains("Content-Type: text/plain\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\nUpgrade Required"), "{text}");
    }
    // An upgrade to something else is an upgrade: ws's own checks answer it.
    let (status, msg) = server_error(
        "GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
        cfg.clone(),
    );
    assert_eq!((status, msg.as_str()), (400, "Invalid Upgrade header"));
    let (status, _) = server_error(
        "POST / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        cfg.clone(),
    );
    assert_eq!(status, 405);
    assert!(server_with(REQ, cfg).is_ok());
    // Off by default: the same plain request is refused as a bad upgrade.
    let (status, _) = server_error(
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        AcceptorConfig::default(),
    );
    assert_eq!(status, 400);
}

#[test]
fn a_refused_upgrade_keeps_its_request_for_ws_client_error_listeners() {
    let cfg = crate::ws::port_acceptor_config();
    let refused = |req: &str| {
        let mut a = Acceptor::new(cfg.clone());
        let e = a.feed(req.as_bytes()).unwrap_err();
        (
            e.status,
            e.message.clone(),
            a.take_refused(),
            a.take_refused(),
        )
    };
    // ws's 'wsClientError' cases: method, Upgrade, key, version.
    for (req, status, message) in [
        (
            "POST /a?b HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-One: 1\r\nx-one: 2\r\n\r\n",
            405,
            "Invalid HTTP method",
        ),
        (
            "GET /a?b HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nX-One: 1\r\nx-one: 2\r\n\r\n",
            400,
            "Invalid Upgrade header",
        ),
        (
            "GET /a?b HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-One: 1\r\nx-one: 2\r\nSec-WebSocket-Key: short\r\n\r\n",
            400,
            "Missing or invalid Sec-WebSocket-Key header",
        ),
    ] {
        let (s, m, kept, again) = refused(req);
        assert_eq!((s, m.as_str()), (status, message));
        let kept = kept.expect("the request is kept");
        assert!(again.is_none(), "taken once");
        assert_eq!(kept.method(), &req[..req.find(' ').unwrap()]);
        assert_eq!(kept.path(), "/a?b");
        assert_eq!(kept.header("x-one").as_deref(), Some("1, 2"));
        let names: Vec<&str> = kept.headers().map(|(n, _)| n).collect();
        assert_eq!(&names[..2], ["Connection", "Upgrade"]);
    }
    let (s, _, kept, _) = refused(&REQ.replace("Version: 13", "Version: 9"));
    assert_eq!(s, 400);
    assert_eq!(
        kept.unwrap().header("sec-websocket-version").as_deref(),
        Some("9")
    );
    // Not upgrades, or not HTTP: nothing to hand over (Node answers these itself).
    for req in [
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        "\x01\x02 garbage\r\n\r\n",
    ] {
        let (_, _, kept, _) = refused(req);
        assert!(kept.is_none(), "{req:?}");
    }
}

#[test]
fn a_plain_request_s_426_keeps_the_connection_alive_as_node_does() {
    let cfg = crate::ws::port_acceptor_config();
    let answer = |req: &str| {
        let e = server_with(req, cfg.clone()).unwrap_err();
        assert_eq!(e.status, 426);
        (e.keeps_alive(), String::from_utf8(e.response()).unwrap())
    };
    let (kept, text) = answer("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(kept);
    assert!(
        text.contains("\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"),
        "{text}"
    );
    assert!(!text.contains("close"), "{text}");
    // Asked to close, a body to skip, or a pipelined request: closed after the answer.
    for req in [
        "GET / HTTP/1.1\r\nConnection: Close\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    ] {
        let (kept, text) = answer(req);
        assert!(!kept, "{req:?}");
        assert!(text.contains("\r\nConnection: close\r\n"), "{text}");
    }
    let (kept, _) = answer("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert!(kept);
    // Refusals of upgrades always close.
    let e = server_with(&REQ.replace("Version: 13", "Version: 9"), cfg).unwrap_err();
    assert!(!e.keeps_alive());
}
