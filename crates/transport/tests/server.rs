//! The transport against real clients on 127.0.0.1: tungstenite for WebSockets, raw
//! TCP for HTTP answers, resets and slow senders.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ferrosocket_core::{DataKind, SendOptions};
use ferrosocket_transport::{Event, TransportConfig};
use support::{echo, eventually, on_message, open_fds, start};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::CloseFrame;
use tungstenite::{client, Message};

fn connect(addr: std::net::SocketAddr, path: &str) -> tungstenite::WebSocket<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (ws, _) = client(format!("ws://{addr}{path}"), stream).unwrap();
    ws
}

fn http(addr: std::net::SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn echoes_text_and_binary_of_every_length_form() {
    let server = start(TransportConfig::default(), echo());
    let mut ws = connect(server.addr, "/");
    for len in [0usize, 125, 126, 65535, 65536, 1 << 20] {
        let text = "é".repeat(len / 2);
        ws.send(Message::text(text.clone())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text(text));
        let bin: Vec<u8> = (0..len).map(|i| i as u8).collect();
        ws.send(Message::binary(bin.clone())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::binary(bin));
    }
    ws.close(None).unwrap();
    drop(ws);
    let report = server.stop();
    assert!(report.saw(|e| matches!(e, Event::Request(_))));
    assert_eq!(report.open_at_end, 0);
}

#[test]
fn a_message_larger_than_the_read_buffer_is_assembled_by_the_core() {
    let config = TransportConfig {
        read_buffer: 4096,
        ..TransportConfig::default()
    };
    let server = start(config, echo());
    let mut ws = connect(server.addr, "/");
    let big = vec![0x5a; 300_000];
    ws.send(Message::binary(big.clone())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(big));
    drop(ws);
    server.stop();
}

#[test]
fn many_messages_in_one_read_are_one_batch_and_answered_in_order() {
    let server = start(TransportConfig::default(), echo());
    let mut ws = connect(server.addr, "/");
    for i in 0..200 {
        ws.write(Message::text(format!("m{i}"))).unwrap();
    }
    ws.flush().unwrap();
    for i in 0..200 {
        assert_eq!(ws.read().unwrap(), Message::text(format!("m{i}")));
    }
    drop(ws);
    server.stop();
}

#[test]
fn ping_is_answered_and_pong_reported() {
    let server = start(TransportConfig::default(), echo());
    let mut ws = connect(server.addr, "/");
    ws.send(Message::Ping(b"hb".to_vec().into())).unwrap();
    assert_eq!(ws.read().unwrap(), Message::Pong(b"hb".to_vec().into()));
    ws.send(Message::Pong(b"u".to_vec().into())).unwrap();
    ws.send(Message::text("after")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("after"));
    ws.close(None).unwrap();
    let _ = ws.read();
    drop(ws);
    let report = server.stop();
    assert!(report.saw(|e| matches!(e, Event::Pong(..))));
    assert!(report.saw(|e| matches!(e, Event::Ping(..))));
}

#[test]
fn close_codes_travel_both_ways_and_sockets_are_released() {
    let server = start(TransportConfig::default(), echo());
    let mut ws = connect(server.addr, "/");
    ws.close(Some(CloseFrame {
        code: CloseCode::from(4000),
        reason: "bye".into(),
    }))
    .unwrap();
    // The echo of our close, then the server ends the TCP connection.
    loop {
        match ws.read() {
            Ok(Message::Close(Some(f))) => {
                assert_eq!(u16::from(f.code), 4000);
                assert_eq!(f.reason.as_str(), "bye");
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    drop(ws);
    let report = server.stop();
    assert!(report.saw(|e| matches!(
        e,
        Event::Closed { code: 4000, reason, .. } if reason == "bye"
    )));
    assert_eq!((report.open_at_end, report.registered_at_end), (0, 1));
}

#[test]
fn the_server_closes_and_the_client_sees_its_code() {
    let app: support::App = Box::new(|server, seen, now| {
        if let Event::Request(t) = &seen.event {
            server.accept(*t, None, None, now).unwrap();
            server
                .with_connection(*t, |c| c.close(Some(1001), "going away").unwrap())
                .unwrap();
        }
    });
    let server = start(TransportConfig::default(), app);
    let mut ws = connect(server.addr, "/");
    match ws.read().unwrap() {
        Message::Close(Some(f)) => assert_eq!(u16::from(f.code), 1001),
        m => panic!("expected a close, got {m:?}"),
    }
    while ws.read().is_ok() {}
    drop(ws);
    let report = server.stop();
    assert!(report.saw(|e| matches!(e, Event::Closed { code: 1001, .. })));
}

#[test]
fn a_protocol_violation_fails_the_connection_with_1002() {
    let server = start(TransportConfig::default(), echo());
    let ws = connect(server.addr, "/");
    let mut raw = ws.get_ref().try_clone().unwrap();
    drop(ws);
    // An unmasked frame from a client (RFC 6455 §5.1).
    raw.write_all(&[0x81, 0x01, b'x']).unwrap();
    let mut got = Vec::new();
    let _ = raw.read_to_end(&mut got);
    assert_eq!(&got[..4], &[0x88, 0x02, 0x03, 0xea], "close 1002");
    drop(raw);
    let report = server.stop();
    assert!(report.saw(|e| matches!(e, Event::Error(..))));
    assert!(report.saw(|e| matches!(e, Event::Closed { code: 1006, .. })));
}

#[test]
fn plain_http_gets_426_and_bad_upgrades_get_ws_answers() {
    let server = start(TransportConfig::default(), echo());
    let r = http(server.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(r.starts_with("HTTP/1.1 426 Upgrade Required\r\n"), "{r}");
    assert!(r.ends_with("Upgrade Required"), "{r}");
    let r = http(
        server.addr,
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{r}");
    assert!(r.contains("Sec-WebSocket-Version: 13, 8\r\n"), "{r}");
    let r = http(
        server.addr,
        "GET /reject HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{r}");
    let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(20_000));
    let r = http(server.addr, &huge);
    assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
    let report = server.stop();
    assert_eq!(report.open_at_end, 0);
}

#[test]
fn heads_of_up_to_2000_fields_are_read_as_node_reads_them() {
    let server = start(TransportConfig::default(), echo());
    // Fields `a:1` (5 bytes each): 2,100 of them stay under the 16 KiB bound.
    let upgrade = |fields: usize| {
        let extra = "a:1\r\n".repeat(fields);
        format!(
            "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    };
    // 1,000 fields: upgraded. The answer's first line is enough.
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(upgrade(1000).as_bytes()).unwrap();
    let mut first = [0u8; 12];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 101");
    drop(s);
    // Past Node's maxHeadersCount (2,000) but within 16 KiB: 431.
    let r = http(server.addr, &upgrade(2100));
    assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
    server.stop();
}

#[test]
fn frames_sent_with_the_request_are_delivered_after_the_accept() {
    let server = start(TransportConfig::default(), echo());
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec();
    req.extend_from_slice(&[0x81, 0x82, 1, 2, 3, 4, b'o' ^ 1, b'k' ^ 2]);
    s.write_all(&req).unwrap();
    let mut buf = vec![0; 4096];
    let mut got = Vec::new();
    while !got.ends_with(b"\x81\x02ok") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    drop(s);
    server.stop();
}

#[test]
fn slowloris_handshakes_time_out_without_stopping_others() {
    let config = TransportConfig {
        handshake_timeout: 300,
        ..TransportConfig::default()
    };
    let server = start(config, echo());
    let slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n")
                .unwrap();
            s
        })
        .collect();
    // A normal client connects and talks meanwhile.
    let mut ws = connect(server.addr, "/");
    ws.send(Message::text("through")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("through"));
    // Every slow one is answered 408 and closed within the timeout (and some slack).
    let started = Instant::now();
    for mut s in slow {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.is_empty() || out.starts_with("HTTP/1.1 408 "), "{out}");
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    // The normal client is still open.
    ws.send(Message::text("still")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("still"));
    drop(ws);
    server.stop();
}

#[test]
fn rounds_of_abrupt_resets_leave_no_descriptor_or_slot() {
    let server = start(TransportConfig::default(), echo());
    // Let the server thread's own descriptors settle before counting.
    std::thread::sleep(Duration::from_millis(50));
    let before = open_fds();
    for _round in 0..3 {
        let mut clients: Vec<_> = (0..200).map(|_| connect(server.addr, "/")).collect();
        for ws in &mut clients {
            ws.send(Message::text("x")).unwrap();
        }
        for ws in clients {
            // RST instead of FIN.
            socket2::SockRef::from(ws.get_ref())
                .set_linger(Some(Duration::ZERO))
                .unwrap();
            drop(ws);
        }
    }
    assert!(
        eventually(Duration::from_secs(10), || open_fds() <= before),
        "descriptors: {} before, {} after",
        before,
        open_fds()
    );
    let report = server.stop();
    assert_eq!((report.open_at_end, report.registered_at_end), (0, 1));
    let closed = report
        .events
        .iter()
        .filter(|e| matches!(e, Event::Closed { .. }))
        .count();
    assert_eq!(closed, 600);
}

#[test]
fn terminate_during_a_large_write_closes_at_once() {
    let app = on_message(|server, token| {
        server
            .with_connection(token, |c| {
                for _ in 0..64 {
                    c.send_binary(&vec![1; 1 << 20]).unwrap();
                }
                c.terminate();
            })
            .unwrap();
    });
    let server = start(TransportConfig::default(), app);
    let mut ws = connect(server.addr, "/");
    ws.send(Message::text("go")).unwrap();
    // The connection ends without the 64 MiB (terminate drops what is queued).
    let mut total = 0usize;
    loop {
        match ws.read() {
            Ok(Message::Binary(b)) => total += b.len(),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(total < 64 << 20);
    drop(ws);
    let report = server.stop();
    assert!(report.saw(|e| matches!(e, Event::Closed { code: 1006, .. })));
    assert_eq!(report.open_at_end, 0);
}

#[test]
fn written_through_and_corked_sends_leave_in_order_to_a_slow_reader() {
    let sizes = [
        10usize,
        20_000,
        5,
        1 << 20,
        3,
        300_000,
        16 * 1024,
        1,
        2 << 20,
        7,
    ];
    let app = on_message(move |server, token| {
        for (i, &len) in sizes.iter().enumerate() {
            let data = vec![i as u8; len];
            let status = server
                .send(
                    token,
                    DataKind::Binary,
                    &data,
                    SendOptions::default(),
                    |_, r| r,
                )
                .unwrap();
            assert!(status.is_ok());
        }
    });
    let server = start(TransportConfig::default(), app);
    let mut ws = connect(server.addr, "/");
    ws.send(Message::text("go")).unwrap();
    // The kernel refuses most of the 3.3 MiB until we read: the rest waits queued.
    std::thread::sleep(Duration::from_millis(200));
    for (i, &len) in sizes.iter().enumerate() {
        assert_eq!(ws.read().unwrap(), Message::binary(vec![i as u8; len]));
    }
    drop(ws);
    server.stop();
}

#[test]
fn a_slow_reader_gets_everything_once_it_reads() {
    let app = on_message(|server, token| {
        server
            .with_connection(token, |c| {
                for i in 0..16u8 {
                    c.send_binary(&vec![i; 1 << 20]).unwrap();
                }
            })
            .unwrap();
        server.notify_drain(token);
    });
    let server = start(TransportConfig::default(), app);
    let mut ws = connect(server.addr, "/");
    ws.send(Message::text("go")).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    for i in 0..16u8 {
        match ws.read().unwrap() {
            Message::Binary(b) => assert!(b.len() == 1 << 20 && b.iter().all(|&x| x == i)),
            m => panic!("{m:?}"),
        }
    }
    drop(ws);
    let report = server.stop();
    assert!(report.saw(|e| matches!(e, Event::Drained(_))));
}

#[test]
fn reads_of_several_readinesses_accumulate_until_their_events_are_taken() {
    use ferrosocket_transport::{Payload, Server, Token};
    // Driven on this thread, by hand: two connections become readable, both are read,
    // and only then are the events taken (one hand-over per loop turn).
    let config = TransportConfig {
        read_buffer: 4096,
        ..TransportConfig::default()
    };
    let mut server = Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        config,
        support::PollSet::default(),
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    let mut clients: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut events = Vec::new();
    let tokens = |s: &Server<support::PollSet>| -> Vec<Token> {
        let mut t: Vec<Token> = s
            .poller()
            .fds
            .keys()
            .copied()
            .filter(|t| *t != Token::LISTENER)
            .collect();
        t.sort();
        t
    };
    assert!(eventually(Duration::from_secs(5), || {
        server.on_ready(Token::LISTENER, true, false, 0);
        server.len() == 2
    }));
    let request = b"GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    for c in &mut clients {
        c.write_all(request).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    for t in tokens(&server) {
        server.on_ready(t, true, false, 0);
    }
    server.take_events(&mut events);
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        let Event::Request(t) = e else {
            panic!("{e:?}")
        };
        assert!(server.accept(*t, None, None, 0).unwrap());
    }
    server.flush(0);
    // A masked text frame each (key 0: the payload as it is).
    for (c, text) in clients.iter_mut().zip([b"aaa", b"bbb"]) {
        let mut frame = vec![0x81, 0x83, 0, 0, 0, 0];
        frame.extend_from_slice(text);
        c.write_all(&frame).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    for t in tokens(&server) {
        server.on_ready(t, true, false, 0);
    }
    server.take_events(&mut events);
    let texts: Vec<&[u8]> = events
        .iter()
        .map(|e| match e {
            Event::Message {
                data: Payload::Read(r),
                ..
            } => &server.batch_data()[r.clone()],
            e => panic!("{e:?}"),
        })
        .collect();
    assert_eq!(texts, [b"aaa", b"bbb"]);
}

#[test]
fn held_output_leaves_only_once_released() {
    let held = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = held.clone();
    let server = start(
        TransportConfig::default(),
        on_message(move |s, t| {
            s.set_held(t, true);
            s.with_connection(t, |c| c.send_text("reply").unwrap());
            *seen.lock().unwrap() = Some(t);
        }),
    );
    let mut ws = connect(server.addr, "/");
    ws.send(Message::text("x")).unwrap();
    assert!(eventually(Duration::from_secs(5), || held
        .lock()
        .unwrap()
        .is_some()));
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    assert!(ws.read().is_err(), "nothing is written while held");
    ws.get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let token = held.lock().unwrap().unwrap();
    server.command(move |s, _| s.set_held(token, false));
    assert_eq!(ws.read().unwrap(), Message::text("reply"));
    server.stop();
}

/// ws's `'wsClientError'`: a request that fails the checks goes to the caller, who
/// answers it with the error (`reject`) or with bytes of its own (`refuse_raw`).
#[test]
fn refused_requests_go_to_the_caller_who_answers_them_or_writes_its_own_bytes() {
    let config = TransportConfig {
        refused_to_caller: true,
        ..TransportConfig::default()
    };
    let app: support::App = Box::new(|server, seen, now| {
        if let Event::Refused(t) = &seen.event {
            let (error, request) = server.refused(*t).expect("refused request");
            let (error, path) = (error.clone(), request.path().to_string());
            assert_eq!(request.header("x-id").as_deref(), Some("7"));
            match path.as_str() {
                "/own" => {
                    assert!(server.refuse_raw(*t, now));
                    let body = format!("{} {}", error.status, error.message);
                    let head = format!(
                        "HTTP/1.1 418 Teapot\r\nContent-Length: {}\r\n\r\n",
                        body.len()
                    );
                    assert!(server.write_raw(*t, head.as_bytes()));
                    assert!(server.write_raw(*t, body.as_bytes()));
                    assert!(!server.reject(*t, &error, now), "answered already");
                    server.end(*t);
                    assert!(!server.write_raw(*t, b"after end"), "ended");
                }
                "/destroy" => {
                    assert!(server.refuse_raw(*t, now));
                    assert!(server.write_raw(*t, b"HTTP/1.1 400 Bad Request\r\n\r\n"));
                    server.destroy(*t);
                }
                _ => assert!(server.reject(*t, &error, now)),
            }
        }
    });
    let server = start(config, app);
    let bad = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\nX-Id: 7\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
    };
    let own = http(server.addr, &bad("/own"));
    assert_eq!(
        own,
        "HTTP/1.1 418 Teapot\r\nContent-Length: 26\r\n\r\n400 Invalid Upgrade header"
    );
    let destroyed = http(server.addr, &bad("/destroy"));
    assert_eq!(destroyed, "HTTP/1.1 400 Bad Request\r\n\r\n");
    let default = http(server.addr, &bad("/"));
    assert!(
        default.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{default}"
    );
    assert!(default.ends_with("Invalid Upgrade header"), "{default}");
    // Plain HTTP is not an upgrade: answered 426 without the caller.
    let plain = http(server.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(plain.starts_with("HTTP/1.1 426 "), "{plain}");
    let report = server.stop();
    assert_eq!(
        report
            .events
            .iter()
            .filter(|e| matches!(e, Event::Refused(_)))
            .count(),
        3
    );
    assert_eq!(report.open_at_end, 0);
}

/// Node's HTTP server (ws's in `port` mode) keeps a plain request's connection alive
/// after its 426: the next request on it is read and answered.
#[test]
fn a_plain_request_s_426_keeps_the_connection_for_the_next_request() {
    let server = start(TransportConfig::default(), echo());
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let read_answer = |s: &mut TcpStream| {
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\nUpgrade Required") {
            assert_eq!(
                s.read(&mut byte).unwrap(),
                1,
                "closed early: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.push(byte[0]);
        }
        String::from_utf8(got).unwrap()
    };
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let first = read_answer(&mut s);
    assert!(
        first.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{first}"
    );
    assert!(first.contains("Connection: keep-alive\r\n"), "{first}");
    s.write_all(b"GET /again HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let second = read_answer(&mut s);
    assert!(second.contains("Connection: keep-alive\r\n"), "{second}");
    // Then an upgrade on the same connection works as on a new one.
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    drop(s);
    // Asked to close: closed after the answer.
    let closed = http(server.addr, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(closed.contains("Connection: close\r\n"), "{closed}");
    server.stop();
}
