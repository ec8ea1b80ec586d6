//! The examples' driver over real TCP sockets on 127.0.0.1: handshake through the
//! core's Acceptor/Connector (with and without permessage-deflate), echo of
//! text/binary/fragmented data, close handshake, HTTP errors for bad upgrade requests,
//! the handshake timeout, and what half-open handshakes hold.

#[path = "../examples/common/mod.rs"]
mod common;

use ferrosocket_core::{DataKind, OwnedEvent, SendOptions};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start_server_with(options: common::ServerOptions) -> String {
    let listener = common::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(common::serve(listener, options));
    addr
}

async fn start_server() -> String {
    start_server_with(common::ServerOptions::default()).await
}

#[tokio::test]
async fn echo_over_tcp_with_deflate_and_close_handshake() {
    let addr = start_server().await;
    let (mut s, mut conn, _) = common::connect(&addr, "/").await.unwrap();
    assert!(
        conn.deflate_enabled(),
        "the example server accepts permessage-deflate"
    );
    conn.send_text("hello").unwrap();
    conn.send_binary(&vec![5u8; 300_000]).unwrap();
    conn.send(
        DataKind::Text,
        b"frag",
        SendOptions {
            fin: false,
            ..Default::default()
        },
    )
    .unwrap();
    conn.send(DataKind::Text, b"mented", SendOptions::default())
        .unwrap();
    conn.close(Some(1000), "bye").unwrap();
    s.write_all(&conn.take_output()).await.unwrap();
    let mut events = Vec::new();
    let mut buf = vec![0u8; 65536];
    tokio::time::timeout(Duration::from_secs(20), async {
        while !conn.should_close_transport() {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "server closed early");
            conn.feed_owned(&buf[..n], &mut events).unwrap();
        }
    })
    .await
    .expect("echo within 20 s");
    // Compare summaries: a failure must not print 300 KB of payload.
    let summary: Vec<String> = events
        .iter()
        .map(|e| match e {
            OwnedEvent::Binary(b) => {
                format!("binary {} all-5:{}", b.len(), b.iter().all(|&x| x == 5))
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "Text(\"hello\")".to_string(),
            "binary 300000 all-5:true".to_string(),
            "Text(\"fragmented\")".to_string(),
            "Close { code: Some(1000), reason: \"bye\" }".to_string(),
        ]
    );
    // RFC 6455 §7.1.1: the server closes TCP after the close handshake.
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
}

async fn raw_request(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn bad_upgrade_requests_get_http_errors() {
    let addr = start_server().await;
    let base = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    let r = raw_request(&addr, &base.replace("Version: 13", "Version: 7")).await;
    assert!(r.starts_with("HTTP/1.1 426 "), "{r}");
    assert!(r.contains("Sec-WebSocket-Version: 13\r\n"));
    let r = raw_request(&addr, &base.replace("Upgrade: websocket\r\n", "")).await;
    assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
    let r = raw_request(&addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 400 "), "{r}");
    let many: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect();
    let r = raw_request(
        &addr,
        &base.replace("Host: x\r\n", &format!("Host: x\r\n{many}")),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 431 "), "{r}");
}

#[tokio::test]
async fn protocol_violation_gets_close_1002() {
    let addr = start_server().await;
    let (mut s, _conn, _) = common::connect(&addr, "/").await.unwrap();
    // A masked frame with reserved opcode 3.
    s.write_all(&[0x83, 0x80, 1, 2, 3, 4]).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf[..n], &[0x88, 0x02, 0x03, 0xea]);
}

/// Polls `f` until it holds (bounded: 20 s), yielding to the server tasks meanwhile.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(20), async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"));
}

#[tokio::test]
async fn a_half_sent_handshake_is_timed_out() {
    let options = common::ServerOptions {
        handshake_timeout: Duration::from_millis(200),
        ..Default::default()
    };
    let stats = options.stats.clone();
    let addr = start_server_with(options).await;
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgr")
        .await
        .unwrap();
    // The server drops the connection without an answer: end of stream, no bytes.
    let mut out = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("the server closes a half-sent handshake")
        .unwrap_or(0);
    assert_eq!((n, out.len()), (0, 0));
    assert_eq!(stats.timed_out.load(Ordering::Relaxed), 1);
    eventually("no handshake left in progress", || {
        stats.in_progress.load(Ordering::Relaxed) == 0
    })
    .await;
    // A complete handshake on another connection is not affected by the timeout.
    let (_s, conn, _) = common::connect(&addr, "/").await.unwrap();
    assert!(conn.deflate_enabled());
}

#[tokio::test]
async fn a_thousand_half_open_handshakes_hold_only_what_they_received() {
    let options = common::ServerOptions::default();
    let stats = options.stats.clone();
    let addr = start_server_with(options).await;
    const N: usize = 1000;
    const SENT: &[u8] = b"GET /chat HTTP/1.1\r\nHost: x\r\n";
    let mut clients = Vec::with_capacity(N);
    for i in 0..N {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        // Half of them send nothing, half a part of the head.
        if i % 2 == 1 {
            s.write_all(SENT).await.unwrap();
        }
        clients.push(s);
    }
    eventually("every connection accepted", || {
        stats.in_progress.load(Ordering::Relaxed) == N
    })
    .await;
    let expected = N / 2 * SENT.len();
    eventually("every partial head read", || {
        stats.buffered_bytes.load(Ordering::Relaxed) == expected
    })
    .await;
    // Exactly the bytes received: no read buffer (or any other buffer) per connection.
    assert_eq!(stats.buffered_bytes.load(Ordering::Relaxed), expected);
    // Completing one of them still works, and releases what it held.
    let mut c = clients.pop().unwrap();
    c.write_all(b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    c.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    eventually("the completed handshake released its bytes", || {
        stats.buffered_bytes.load(Ordering::Relaxed) == expected - SENT.len()
    })
    .await;
    drop(clients);
    eventually("closed handshakes are gone", || {
        stats.in_progress.load(Ordering::Relaxed) == 0
    })
    .await;
    assert_eq!(stats.buffered_bytes.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn accepted_connections_inherit_nodelay_from_the_listener() {
    let listener = common::listen("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let _client = TcpStream::connect(addr).await.unwrap();
    let (accepted, _) = listener.accept().await.unwrap();
    // What `serve` relies on to skip a system call per connection on Linux.
    if cfg!(target_os = "linux") {
        assert!(accepted.nodelay().unwrap());
    }
}
