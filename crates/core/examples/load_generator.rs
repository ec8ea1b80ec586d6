//! The load generator of `bench/run.js`: raw WebSocket clients over tokio on one
//! thread, with pre-masked frames and byte counting, so that the generator (pinned to
//! its own core) costs far less per message than the servers it measures. It knows
//! nothing of ferrosocket: it writes bytes and counts bytes, the same for every server.
//!
//! ```text
//! load_generator echo --port P --conns N --size BYTES --window W --seconds S
//! load_generator handshakes --port P --total N --concurrency C
//! ```
//!
//! Prints one JSON line: `{"msgsPerSec":…,"mbPerSec":…,"p99ms":…}` for `echo`,
//! `{"perSec":…,"ok":…}` for `handshakes`.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Replies before this much time has passed are not counted (connections settle).
const WARMUP: Duration = Duration::from_millis(500);
/// Any valid key: the servers do not check that keys differ.
const REQUEST: &str = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
/// A masked close frame with code 1000 (RFC 6455 §5.5.1).
const CLOSE: [u8; 8] = [0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2];

fn number(name: &str) -> usize {
    common::arg(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} takes a number"))
}

fn main() -> io::Result<()> {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let port = number("--port") as u16;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let local = tokio::task::LocalSet::new();
    let line = match scenario.as_str() {
        "echo" => local.block_on(
            &runtime,
            echo(
                port,
                number("--conns"),
                number("--size"),
                number("--window"),
                Duration::from_secs(number("--seconds") as u64),
            ),
        )?,
        "handshakes" => local.block_on(
            &runtime,
            handshakes(port, number("--total"), number("--concurrency")),
        )?,
        other => {
            return Err(io::Error::other(format!(
                "unknown scenario {other:?}: echo or handshakes"
            )))
        }
    };
    println!("{line}");
    Ok(())
}

/// A binary frame of `size` random-looking bytes, masked as a client must (§5.3).
fn masked_frame(size: usize) -> Vec<u8> {
    let mut frame = vec![0x82];
    match size {
        0..=125 => frame.push(0x80 | size as u8),
        126..=65535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    let key = [0x37, 0xfa, 0x21, 0x3d];
    frame.extend_from_slice(&key);
    let mut seed = 0x2545_f491_u32;
    frame.extend((0..size).map(|i| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (seed >> 16) as u8 ^ key[i & 3]
    }));
    frame
}

/// The size of the server's unmasked echo of a `size`-byte message.
fn reply_size(size: usize) -> usize {
    size + match size {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

/// Connects and upgrades; answers the stream and what followed the 101's head.
async fn connect(port: u16) -> io::Result<(TcpStream, usize)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    stream.write_all(REQUEST.as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::other("closed during the upgrade"));
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            if !head.starts_with(b"HTTP/1.1 101") {
                return Err(io::Error::other("upgrade refused"));
            }
            return Ok((stream, head.len() - end - 4));
        }
    }
}

/// What the echo connections share (one thread: cells, no locks).
struct Tally {
    start: Instant,
    running: Cell<bool>,
    done: Cell<u64>,
    latencies: RefCell<Vec<f64>>,
}

/// `conns` connections keep `window` messages of `size` bytes in flight each: k
/// replies are answered with one write of k frames. Throughput and p99 latency.
async fn echo(
    port: u16,
    conns: usize,
    size: usize,
    window: usize,
    seconds: Duration,
) -> io::Result<String> {
    let one = masked_frame(size);
    // window + 1 copies: a write that starts inside a frame still finds `window` whole
    // frames after its start.
    let cycle: Rc<[u8]> = one.repeat(window + 1).into();
    let frame_len = one.len();
    let mut streams = Vec::with_capacity(conns);
    for _ in 0..conns {
        streams.push(connect(port).await?);
    }
    let tally = Rc::new(Tally {
        start: Instant::now(),
        running: Cell::new(true),
        done: Cell::new(0),
        latencies: RefCell::new(Vec::new()),
    });
    let mut tasks = Vec::with_capacity(conns);
    for (stream, received) in streams {
        let (tally, cycle) = (tally.clone(), cycle.clone());
        tasks.push(tokio::task::spawn_local(async move {
            // A connection the server drops ends its task; the others go on.
            let _ =
                echo_connection(stream, received, &cycle, frame_len, size, window, &tally).await;
        }));
    }
    tokio::time::sleep(WARMUP + seconds).await;
    tally.running.set(false);
    let elapsed = tally.start.elapsed().saturating_sub(WARMUP).as_secs_f64();
    for task in tasks {
        task.abort();
    }
    let done = tally.done.get() as f64;
    let mut latencies = tally.latencies.take();
    latencies.sort_by(f64::total_cmp);
    let p99 = latencies
        .get(latencies.len() * 99 / 100)
        .map_or("null".to_string(), |ms| format!("{ms:.3}"));
    Ok(format!(
        "{{\"msgsPerSec\":{:.1},\"mbPerSec\":{:.3},\"p99ms\":{p99}}}",
        done / elapsed,
        done * size as f64 / elapsed / 1e6
    ))
}

async fn echo_connection(
    stream: TcpStream,
    mut received: usize,
    cycle: &[u8],
    frame_len: usize,
    size: usize,
    window: usize,
    tally: &Tally,
) -> io::Result<()> {
    let reply = reply_size(size);
    let mut buf = vec![0u8; (reply * window).clamp(4096, 256 * 1024)];
    // The output is `one` frame repeated: what is left to write, and where in a frame
    // the next write starts.
    let mut pending = window * frame_len;
    let mut offset = 0;
    let mut sent: VecDeque<Instant> = std::iter::repeat(Instant::now()).take(window).collect();
    loop {
        let interest = if pending > 0 {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        let ready = stream.ready(interest).await?;
        if ready.is_readable() {
            loop {
                match stream.try_read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => received += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                }
            }
            let now = Instant::now();
            let counted = now.duration_since(tally.start) > WARMUP;
            let mut k = 0;
            while received >= reply {
                received -= reply;
                k += 1;
                let Some(t0) = sent.pop_front() else { continue };
                if counted {
                    let done = tally.done.get() + 1;
                    tally.done.set(done);
                    if done & 7 == 0 || size > 1024 {
                        let ms = now.duration_since(t0).as_secs_f64() * 1e3;
                        tally.latencies.borrow_mut().push(ms);
                    }
                }
            }
            if k > 0 && tally.running.get() {
                sent.extend(std::iter::repeat(now).take(k));
                pending += k * frame_len;
            }
        }
        if pending > 0 {
            match stream.try_write(&cycle[offset..offset + pending]) {
                Ok(n) => {
                    pending -= n;
                    offset = (offset + n) % frame_len;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// `total` upgrades, `concurrency` at a time; each ends with a close frame and a FIN
/// once its 101 has arrived, and is read to its end in the background.
async fn handshakes(port: u16, total: usize, concurrency: usize) -> io::Result<String> {
    let started = Rc::new(Cell::new(0usize));
    let ok = Rc::new(Cell::new(0usize));
    let t0 = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (started, ok) = (started.clone(), ok.clone());
        workers.push(tokio::task::spawn_local(async move {
            while started.get() < total {
                started.set(started.get() + 1);
                let Ok((mut stream, _)) = connect(port).await else {
                    continue;
                };
                ok.set(ok.get() + 1);
                tokio::task::spawn_local(async move {
                    let _ = stream.write_all(&CLOSE).await;
                    let _ = stream.shutdown().await;
                    let mut sink = [0u8; 256];
                    while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                });
            }
        }));
    }
    for worker in workers {
        worker.await.map_err(io::Error::other)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    Ok(format!(
        "{{\"perSec\":{:.1},\"ok\":{}}}",
        ok.get() as f64 / secs,
        ok.get()
    ))
}
