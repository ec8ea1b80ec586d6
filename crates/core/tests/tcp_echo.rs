//! The examples' driver over real TCP sockets on 127.0.0.1: handshake (with and
//! without permessage-deflate), echo of text/binary/fragmented data, close handshake,
//! and HTTP errors for bad upgrade requests.

#[path = "../examples/common/mod.rs"]
mod common;

use ferrosocket_core::{DataKind, OwnedEvent, SendOptions};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn start_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                if let Ok(Some((conn, rest))) = common::accept(&mut s).await {
                    let _ = common::echo(&mut s, conn, rest).await;
                }
            });
        }
    });
    addr
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
