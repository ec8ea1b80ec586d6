//! ferrosocket-core against tungstenite and fastwebsockets, in the same run.
//!
//! `cargo bench -p ferrosocket-core --bench protocol` (add `-- --quick` for a short run).
//! Every peer decodes the same bytes: N masked binary frames as a client sends them,
//! read by a server from memory, so only the protocol work is measured.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrosocket_core::mask::apply_mask;
use ferrosocket_core::utf8::Utf8Validator;
use ferrosocket_core::{Config, Connection, Event, Role};
use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];

/// Frames per iteration: enough to amortise per-iteration setup for small frames.
fn frames_for(size: usize) -> usize {
    (256 * 1024 / size).clamp(1, 4096)
}

fn masked_frames(size: usize, n: usize) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default());
    let payload = vec![0x5au8; size];
    for _ in 0..n {
        client.send_binary(&payload).unwrap();
    }
    client.take_output()
}

/// A transport that reads the same bytes over and over (they hold whole frames, so
/// wrapping around is frame-aligned) and discards writes.
struct MemStream(Cursor<Vec<u8>>);
impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.position() as usize == self.0.get_ref().len() {
            self.0.set_position(0);
        }
        self.0.read(buf)
    }
}
impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
impl tokio::io::AsyncRead for MemStream {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let n = Read::read(me, buf.initialize_unfilled())?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}
impl tokio::io::AsyncWrite for MemStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn big_config() -> Config {
    Config {
        max_message_size: 64 << 20,
        ..Config::default()
    }
}

fn decode(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("decode");
    for size in SIZES {
        let n = frames_for(size);
        let input = masked_frames(size, n);
        g.throughput(Throughput::Bytes((size * n) as u64));

        // The socket-like path: each 64 KiB read lands in our buffer (the copy a
        // socket read makes, as the peers' Cursor reads do), then unmasks in place.
        let mut conn = Connection::new(Role::Server, big_config());
        let mut read_buf = vec![0u8; 64 * 1024];
        g.bench_with_input(BenchmarkId::new("ferrosocket", size), &input, |b, input| {
            b.iter(|| {
                let mut count = 0usize;
                for chunk in input.chunks(64 * 1024) {
                    let buf = &mut read_buf[..chunk.len()];
                    buf.copy_from_slice(chunk);
                    conn.feed_mut(buf, |e| {
                        if let Event::Binary(p) = e {
                            count += black_box(p).len();
                        }
                    })
                    .unwrap();
                }
                assert_eq!(count, size * n);
            })
        });

        // Read-only input: masked payloads are copied into the message buffer.
        let mut conn = Connection::new(Role::Server, big_config());
        g.bench_with_input(
            BenchmarkId::new("ferrosocket-readonly", size),
            &input,
            |b, input| {
                b.iter(|| {
                    let mut count = 0usize;
                    for chunk in input.chunks(64 * 1024) {
                        conn.feed(chunk, |e| {
                            if let Event::Binary(p) = e {
                                count += black_box(p).len();
                            }
                        })
                        .unwrap();
                    }
                    assert_eq!(count, size * n);
                })
            },
        );

        let cfg = tungstenite::protocol::WebSocketConfig::default()
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let mut ws = tungstenite::WebSocket::from_raw_socket(
            MemStream(Cursor::new(input.clone())),
            tungstenite::protocol::Role::Server,
            Some(cfg),
        );
        g.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            b.iter(|| {
                let mut count = 0usize;
                for _ in 0..n {
                    count += black_box(ws.read().unwrap()).len();
                }
                assert_eq!(count, size * n);
            })
        });

        let mut fws = fastwebsockets::WebSocket::after_handshake(
            MemStream(Cursor::new(input.clone())),
            fastwebsockets::Role::Server,
        );
        fws.set_max_message_size(64 << 20);
        fws.set_auto_close(false);
        fws.set_auto_pong(false);
        g.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| {
                rt.block_on(async {
                    let mut count = 0usize;
                    for _ in 0..n {
                        count += black_box(fws.read_frame().await.unwrap()).payload.len();
                    }
                    assert_eq!(count, size * n);
                })
            })
        });
    }
    g.finish();
}

fn encode(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("encode");
    for size in SIZES {
        let n = frames_for(size);
        let payload = vec![0x5au8; size];
        g.throughput(Throughput::Bytes((size * n) as u64));

        // Client side: masking is the work.
        let mut conn = Connection::new(Role::Client, Config::default());
        g.bench_function(BenchmarkId::new("ferrosocket", size), |b| {
            b.iter(|| {
                for _ in 0..n {
                    conn.send_binary(black_box(&payload)).unwrap();
                }
                let len = conn.output().len();
                conn.consume_output(len);
            })
        });

        let mut ws = tungstenite::WebSocket::from_raw_socket(
            MemStream(Cursor::new(Vec::new())),
            tungstenite::protocol::Role::Client,
            None,
        );
        let msg = tungstenite::Message::binary(payload.clone());
        g.bench_function(BenchmarkId::new("tungstenite", size), |b| {
            b.iter(|| {
                for _ in 0..n {
                    ws.write(black_box(msg.clone())).unwrap();
                }
                ws.flush().unwrap();
            })
        });

        let mut fws = fastwebsockets::WebSocket::after_handshake(
            MemStream(Cursor::new(Vec::new())),
            fastwebsockets::Role::Client,
        );
        fws.set_writev(false);
        g.bench_function(BenchmarkId::new("fastwebsockets", size), |b| {
            b.iter(|| {
                rt.block_on(async {
                    for _ in 0..n {
                        let frame = fastwebsockets::Frame::binary(
                            fastwebsockets::Payload::Borrowed(black_box(&payload)),
                        );
                        fws.write_frame(frame).await.unwrap();
                    }
                })
            })
        });
    }
    g.finish();
}

fn unmask(c: &mut Criterion) {
    let mut g = c.benchmark_group("unmask");
    for size in [1024usize, 16 * 1024, 1024 * 1024] {
        let mut buf = vec![0x5au8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_function(BenchmarkId::new("ferrosocket", size), |b| {
            b.iter(|| apply_mask(black_box(&mut buf), [1, 2, 3, 4], 0))
        });
    }
    g.finish();
}

fn utf8(c: &mut Criterion) {
    let mut g = c.benchmark_group("utf8");
    let text = "The quick brown fox — κόσμε — 𝄞 jumps over the lazy dog. ".repeat(1200);
    let bytes = text.as_bytes();
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("ferrosocket-incremental-4KiB-pieces", |b| {
        b.iter(|| {
            let mut v = Utf8Validator::new();
            for piece in bytes.chunks(4096) {
                v.feed(black_box(piece)).unwrap();
            }
            v.finish().unwrap();
        })
    });
    g.bench_function("ferrosocket-whole", |b| {
        b.iter(|| {
            ferrosocket_core::utf8::validate(black_box(bytes))
                .unwrap()
                .len()
        })
    });
    // What tungstenite and fastwebsockets do for text: std's validator on the whole message.
    g.bench_function("std-from_utf8 (tungstenite/fastwebsockets)", |b| {
        b.iter(|| std::str::from_utf8(black_box(bytes)).unwrap().len())
    });
    g.finish();
}

fn deflate(c: &mut Criterion) {
    use ferrosocket_core::deflate::DeflateConfig;
    let mut g = c.benchmark_group("deflate-roundtrip");
    let json: String = (0..400)
        .map(|i| format!("{{\"id\":{i},\"name\":\"user{i}\",\"tags\":[\"a\",\"b\"],\"ok\":true}},"))
        .collect();
    let (sp, resp) = DeflateConfig::default()
        .accept(&DeflateConfig::default().offer())
        .unwrap()
        .unwrap();
    let cp = DeflateConfig::default().accept_response(&resp).unwrap();
    let mut client = Connection::with_deflate(Role::Client, Config::default(), Some(cp));
    let mut server = Connection::with_deflate(Role::Server, Config::default(), Some(sp));
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function(BenchmarkId::new("ferrosocket", json.len()), |b| {
        b.iter(|| {
            client.send_text(black_box(&json)).unwrap();
            let wire = client.take_output();
            let mut n = 0;
            server
                .feed(&wire, |e| {
                    if let Event::Text(t) = e {
                        n = t.len()
                    }
                })
                .unwrap();
            assert_eq!(n, json.len());
        })
    });
    g.finish();
}

criterion_group!(benches, decode, encode, unmask, utf8, deflate);
criterion_main!(benches);
