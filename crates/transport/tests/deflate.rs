//! permessage-deflate (RFC 7692) through the transport: the offer answered with
//! `Server::negotiate_deflate`, compressed messages both ways, large ones as jobs
//! (`take_jobs` / `finish_job`, run by the harness between two rounds of events)
//! without loss or reordering, and the same for an adopted connection. The peer is
//! the core's own client over a blocking 127.0.0.1 socket.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::handshake::{Acceptor, ClientOptions, Connector};
use ferrosocket_core::{ws, Config, Connection, OwnedEvent};
use ferrosocket_transport::{Event, TransportConfig};
use support::{echo, start, start_detached};

/// A client connection driven by hand: its socket, its core and what it read.
struct Client {
    stream: TcpStream,
    conn: Connection,
    /// Bytes read from the socket since the handshake (compressed frames included).
    wire_bytes: usize,
    /// The `Sec-WebSocket-Extensions` of the server's `101`, if any.
    extensions: Option<String>,
}

fn inline() -> Config {
    Config {
        offload_deflate_min: usize::MAX,
        offload_inflate_min: usize::MAX,
        ..ws::config()
    }
}

fn deflate_server() -> TransportConfig {
    TransportConfig {
        deflate: Some(DeflateConfig::default()),
        ..TransportConfig::default()
    }
}

fn connect(addr: SocketAddr, offer: Option<DeflateConfig>) -> Client {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut options = ClientOptions::new(&addr.to_string(), "/");
    options.deflate = offer;
    let mut connector = Connector::new(options).unwrap();
    stream.write_all(connector.request()).unwrap();
    let mut buf = [0u8; 4096];
    let done = loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed during the handshake");
        if let Some(done) = connector.feed(&buf[..n]).unwrap() {
            break done;
        }
    };
    // The client does its zlib work inline (no jobs on this side).
    let mut conn = done.connection(inline());
    let mut events = Vec::new();
    conn.feed_owned(&done.leftover, &mut events).unwrap();
    assert!(events.is_empty());
    Client {
        stream,
        conn,
        wire_bytes: 0,
        extensions: done.extensions,
    }
}

impl Client {
    fn send_text(&mut self, text: &str) {
        self.conn.send_text(text).unwrap();
        self.stream.write_all(&self.conn.take_output()).unwrap();
    }

    /// Reads until `n` messages came; their texts (binary as lossy text).
    fn read_messages(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while out.len() < n {
            let k = self.stream.read(&mut buf).unwrap();
            assert!(k > 0, "closed after {} of {n} messages", out.len());
            self.wire_bytes += k;
            let mut events = Vec::new();
            self.conn.feed_owned(&buf[..k], &mut events).unwrap();
            for e in events {
                match e {
                    OwnedEvent::Text(t) => out.push(t),
                    OwnedEvent::Binary(b) => out.push(String::from_utf8_lossy(&b).into_owned()),
                    _ => {}
                }
            }
        }
        out
    }

    fn close(mut self) {
        self.conn.close(Some(1000), "").unwrap();
        let _ = self.stream.write_all(&self.conn.take_output());
        let mut buf = [0u8; 4096];
        while matches!(self.stream.read(&mut buf), Ok(n) if n > 0) {}
    }
}

/// Compressible text of `len` bytes that is not one repeated byte.
fn text(len: usize, seed: u8) -> String {
    (0..len)
        .map(|i| (b'a' + ((i / 7 + usize::from(seed)) % 26) as u8) as char)
        .collect()
}

/// Letters at random: compresses to about 60 %, so a large message is a large
/// compressed frame too (inflated by a job from 16 KiB compressed on).
fn noisy(len: usize, seed: u32) -> String {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (b'a' + (x % 26) as u8) as char
        })
        .collect()
}

#[test]
fn rfc7692_agreed_offer_echoes_messages_of_every_size_compressed_and_in_order() {
    let server = start(deflate_server(), echo());
    let mut c = connect(server.addr, Some(DeflateConfig::default()));
    // ws answers the default offer (a bare client_max_window_bits) with no parameter.
    assert_eq!(c.extensions.as_deref(), Some("permessage-deflate"));
    assert!(c.conn.deflate_enabled());
    // Below the threshold, over it, over the 64 KiB compression job and the 16 KiB
    // (compressed) inflation job: the large ones go out as jobs and the small ones
    // sent behind them must come back after them.
    let sizes = [10, 2_000, 100_000, 3 << 20, 5, 1 << 20, 1];
    let mut sent: Vec<String> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| text(n, i as u8))
        .collect();
    let total: usize = sizes.iter().sum();
    // Large compressed frames from the client: inflated by jobs, small ones behind.
    sent.extend([noisy(200_000, 1), "after".into(), noisy(40_000, 2)]);
    for m in &sent {
        c.send_text(m);
    }
    let got = c.read_messages(sent.len());
    assert!(got == sent, "lost or reordered messages");
    assert!(
        c.wire_bytes < total / 4 + 250_000,
        "{} bytes on the wire for {total} of compressible text",
        c.wire_bytes
    );
    c.close();
    let report = server.stop();
    // The listener only.
    assert_eq!((report.open_at_end, report.registered_at_end), (0, 1));
}

#[test]
fn with_every_zlib_call_inline_nothing_is_lost_either() {
    let config = TransportConfig {
        connection: inline(),
        ..deflate_server()
    };
    let server = start(config, echo());
    let mut c = connect(server.addr, Some(DeflateConfig::default()));
    let sent: Vec<String> = [1 << 20, 3, 200_000].iter().map(|&n| text(n, 1)).collect();
    for m in &sent {
        c.send_text(m);
    }
    assert!(c.read_messages(3) == sent);
    c.close();
    server.stop();
}

#[test]
fn without_server_deflate_an_offer_is_ignored() {
    let server = start(TransportConfig::default(), echo());
    let mut c = connect(server.addr, Some(DeflateConfig::default()));
    assert_eq!(c.extensions, None);
    assert!(!c.conn.deflate_enabled());
    c.send_text("plain");
    assert_eq!(c.read_messages(1), ["plain"]);
    c.close();
    server.stop();
}

/// Writes a request with `extensions` and reads the whole answer.
fn answer_to(addr: SocketAddr, extensions: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: {extensions}\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
        if out.starts_with(b"HTTP/1.1 101") && out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn rfc7692_bad_or_unacceptable_offers_get_ws_400_and_good_ones_their_params() {
    let config = TransportConfig {
        deflate: Some(DeflateConfig {
            server_max_window_bits: Some(10),
            ..DeflateConfig::default()
        }),
        ..TransportConfig::default()
    };
    let server = start(config, echo());
    for bad in [
        "permessage-deflate; foo",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_no_context_takeover=1",
        // The server insists on 10 bits; the client allows at most 9.
        "permessage-deflate; server_max_window_bits=9",
        "permessage-deflate; =",
    ] {
        let a = answer_to(server.addr, bad);
        assert!(a.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}: {a}");
        assert!(
            a.ends_with("Invalid or unacceptable Sec-WebSocket-Extensions header"),
            "{bad}: {a}"
        );
    }
    let a = answer_to(
        server.addr,
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits, permessage-deflate",
    );
    assert!(a.starts_with("HTTP/1.1 101"), "{a}");
    assert!(
        a.contains(
            "\r\nSec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=10\r\n"
        ),
        "{a}"
    );
    // Another extension alone is not ours to answer: no extension, no 400.
    let a = answer_to(server.addr, "x-webkit-deflate-frame");
    assert!(
        a.starts_with("HTTP/1.1 101") && !a.contains("Extensions"),
        "{a}"
    );
    let report = server.stop();
    assert!(!report.saw(|e| matches!(e, Event::Error(..))));
}

#[test]
fn an_adopted_connection_with_a_codec_runs_its_jobs_too() {
    let server = start_detached(TransportConfig::default(), echo());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let sent: Vec<String> = [300_000, 2, 70_000].iter().map(|&n| text(n, 3)).collect();
    let expected = sent.clone();
    let client = std::thread::spawn(move || {
        let mut c = connect(addr, Some(DeflateConfig::default()));
        assert!(c.conn.deflate_enabled());
        for m in &sent {
            c.send_text(m);
        }
        let got = c.read_messages(sent.len());
        c.close();
        got
    });
    // Upgraded elsewhere (as Node's HTTP server would), with the offer negotiated.
    let (mut stream, _) = listener.accept().unwrap();
    let mut acceptor = Acceptor::new(ws::port_acceptor_config());
    let mut buf = [0u8; 4096];
    let mut incoming = loop {
        let n = stream.read(&mut buf).unwrap();
        if let Some(incoming) = acceptor.feed(&buf[..n]).unwrap() {
            break incoming;
        }
    };
    incoming
        .negotiate_deflate(&DeflateConfig::default())
        .unwrap()
        .expect("agreed");
    let done = incoming.accept().unwrap();
    let conn = Box::new(done.connection(ws::config()));
    assert!(conn.deflate_enabled());
    server.command(move |s, now| {
        s.adopt(stream, conn, Some(done.response), done.leftover, now)
            .unwrap();
    });
    assert!(client.join().unwrap() == expected, "lost or reordered");
    server.stop();
}

#[test]
fn destroyed_while_inflating_the_message_is_delivered_then_the_socket_closes() {
    use ferrosocket_transport::{Job, Server, Token};
    use support::PollSet;

    let mut server = Server::bind(
        "127.0.0.1:0".parse().unwrap(),
        deflate_server(),
        PollSet::default(),
    )
    .unwrap();
    let addr = server.local_addr().unwrap();
    let big = noisy(1 << 20, 5);
    let sent = big.clone();
    let client = std::thread::spawn(move || {
        let mut c = connect(addr, Some(DeflateConfig::default()));
        c.send_text(&sent);
        // Nothing comes back; the server closes.
        let mut buf = [0u8; 4096];
        while matches!(c.stream.read(&mut buf), Ok(n) if n > 0) {}
    });
    // Driven by hand (every socket polled as if ready), so that the inflation job can
    // be held while the connection is destroyed.
    let mut events = Vec::new();
    let mut jobs = Vec::new();
    let mut held: Option<(Token, Job)> = None;
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while held.is_none() {
        assert!(std::time::Instant::now() < end, "no inflation job");
        let tokens: Vec<Token> = server.poller().fds.keys().copied().collect();
        for t in tokens {
            server.on_ready(t, true, false, 0);
        }
        server.take_events(&mut events);
        for e in &events {
            match e {
                Event::Request(t) => {
                    assert!(server.negotiate_deflate(*t).unwrap().unwrap());
                    assert!(server.accept(*t, None, None, 0).unwrap());
                }
                e => panic!("before the job: {e:?}"),
            }
        }
        server.flush(0);
        server.take_jobs(&mut jobs);
        held = jobs.pop();
    }
    let (token, mut job) = held.unwrap();
    assert!(matches!(job, Job::Inflate(_)));
    server.destroy(token);
    server.flush(0);
    assert!(
        !server.has_events(),
        "closed before the message was delivered"
    );
    job.run();
    server.finish_job(token, job, 0);
    server.take_events(&mut events);
    let seen: Vec<String> = events
        .iter()
        .map(|e| match e {
            Event::Message {
                data: ferrosocket_transport::Payload::Owned(v),
                ..
            } => format!("message {}", v.len()),
            Event::Closed { code, .. } => format!("closed {code}"),
            e => format!("{e:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [format!("message {}", big.len()), "closed 1006".into()]
    );
    assert_eq!(server.len(), 0);
    client.join().unwrap();
}
