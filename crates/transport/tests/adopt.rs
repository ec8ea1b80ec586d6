//! Connections upgraded elsewhere and handed to a detached server (`Server::adopt`):
//! what Node's HTTP server and HTTP client hand over in the `server`/`noServer`
//! modes and for `new WebSocket()`. Real 127.0.0.1 sockets; tungstenite as the peer.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use ferrosocket_core::handshake::Acceptor;
use ferrosocket_core::{ws, Config, Connection, DataKind, Role};
use ferrosocket_transport::{Event, TransportConfig};
use support::{echo, eventually, open_fds, start_detached, App, UPGRADE_REQUEST};
use tungstenite::Message;

/// Accepts one TCP connection and reads its upgrade request with the core's acceptor,
/// as Node's HTTP server would have: the connection, its `101` and the bytes that
/// came after the head.
fn upgraded_elsewhere(listener: &TcpListener) -> (TcpStream, Vec<u8>, Vec<u8>) {
    let (mut stream, _) = listener.accept().unwrap();
    let mut acceptor = Acceptor::new(ws::port_acceptor_config());
    let mut buf = [0u8; 4096];
    let incoming = loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the client went away during the handshake");
        if let Some(incoming) = acceptor.feed(&buf[..n]).unwrap() {
            break incoming;
        }
    };
    let done = incoming.accept().unwrap();
    (stream, done.response, done.leftover)
}

#[test]
fn an_adopted_server_connection_writes_its_101_and_echoes() {
    let server = start_detached(TransportConfig::default(), echo());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let (mut ws, response) = tungstenite::client(format!("ws://{addr}/"), stream).unwrap();
        assert_eq!(response.status(), 101);
        for m in ["one", "two"] {
            ws.send(Message::text(m)).unwrap();
            assert_eq!(ws.read().unwrap(), Message::text(m));
        }
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
    });
    let (stream, response, leftover) = upgraded_elsewhere(&listener);
    server.command(move |s, now| {
        let conn = Box::new(Connection::new(Role::Server, ws::config()));
        s.adopt(stream, conn, Some(response), leftover, now)
            .unwrap();
    });
    client.join().unwrap();
    let report = server.stop();
    // tungstenite's close(None) sends no code: 1005 (RFC 6455 §7.1.5).
    assert!(report.saw(|e| matches!(e, Event::Closed { code: 1005, .. })));
    assert_eq!(report.open_at_end, 0);
    assert_eq!(report.registered_at_end, 0);
}

#[test]
fn frames_that_came_with_the_request_are_fed_first() {
    let server = start_detached(TransportConfig::default(), echo());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The request and a masked text frame "hi" (key 0) in one write.
        let mut bytes = UPGRADE_REQUEST.to_vec();
        bytes.extend_from_slice(&[0x81, 0x82, 0, 0, 0, 0, b'h', b'i']);
        s.write_all(&bytes).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(&[0x81, 0x02, b'h', b'i']) {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "closed before the echo");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    });
    let (stream, response, leftover) = upgraded_elsewhere(&listener);
    assert!(!leftover.is_empty(), "the frame came with the head");
    server.command(move |s, now| {
        let conn = Box::new(Connection::new(Role::Server, ws::config()));
        s.adopt(stream, conn, Some(response), leftover, now)
            .unwrap();
    });
    client.join().unwrap();
    let report = server.stop();
    assert!(report.saw(|e| matches!(
        e,
        Event::Message {
            kind: DataKind::Text,
            ..
        }
    )));
}

#[test]
fn an_adopted_client_connection_masks_what_it_sends() {
    // tungstenite's server refuses unmasked client frames (RFC 6455 §5.1): an echo
    // proves the adopted connection masks.
    let peer = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = peer.local_addr().unwrap();
    let echo_server = std::thread::spawn(move || {
        let (stream, _) = peer.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        loop {
            match ws.read() {
                Ok(m @ (Message::Text(_) | Message::Binary(_))) => ws.send(m).unwrap(),
                Ok(Message::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        while ws.flush().is_ok() && ws.read().is_ok() {}
    });
    let (seen_tx, seen_rx) = mpsc::channel::<Vec<u8>>();
    let app: App = Box::new(move |server, seen, _now| {
        if let Event::Message { token, .. } = &seen.event {
            seen_tx.send(seen.bytes.clone()).unwrap();
            if seen.bytes == b"last" {
                server
                    .with_connection(*token, |c| c.close(Some(1000), "done").unwrap())
                    .unwrap();
            }
        }
    });
    let server = start_detached(TransportConfig::default(), app);

    // The client's upgrade, done by hand as Node's HTTP client would.
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(UPGRADE_REQUEST).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1);
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
    server.command(move |s, now| {
        let conn = Box::new(Connection::new(Role::Client, Config::default()));
        let token = s.adopt(stream, conn, None, Vec::new(), now).unwrap();
        s.with_connection(token, |c| {
            c.send_text("first").unwrap();
            c.send_binary(&[1, 2, 3]).unwrap();
            c.send_text("last").unwrap();
        })
        .unwrap();
    });
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(seen_rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }
    assert_eq!(got, [b"first".to_vec(), vec![1, 2, 3], b"last".to_vec()]);
    echo_server.join().unwrap();
    let report = server.stop();
    assert!(report.saw(|e| matches!(
        e,
        Event::Closed {
            code: 1000,
            clean: true,
            ..
        }
    )));
    assert_eq!(report.open_at_end, 0);
}

#[test]
fn adopted_connections_that_reset_leave_no_descriptor_behind() {
    let server = start_detached(TransportConfig::default(), echo());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let before = open_fds();
    for _ in 0..50 {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(UPGRADE_REQUEST).unwrap();
        let (stream, response, leftover) = upgraded_elsewhere(&listener);
        server.command(move |s, now| {
            let conn = Box::new(Connection::new(Role::Server, ws::config()));
            // A peer that reset first cannot be adopted (no peer address): an error,
            // and the descriptor is closed.
            if let Err(e) = s.adopt(stream, conn, Some(response), leftover, now) {
                assert_eq!(e.kind(), std::io::ErrorKind::NotConnected);
            }
        });
        // SO_LINGER 0: the close is a reset.
        socket_reset(c);
    }
    assert!(eventually(Duration::from_secs(10), || open_fds() <= before));
    let report = server.stop();
    assert_eq!(report.open_at_end, 0);
    assert_eq!(report.registered_at_end, 0);
}

fn socket_reset(stream: TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(stream);
}
