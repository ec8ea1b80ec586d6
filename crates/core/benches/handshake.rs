//! Same-run server benchmark: the `echo_server` example against a fastwebsockets echo
//! server (its own example's code: hyper upgrade + `FragmentCollector`), both on one
//! tokio current-thread runtime in their own process, driven by one load generator.
//!
//! ```sh
//! cargo build --release -p ferrosocket-core --example echo_server
//! cargo bench -p ferrosocket-core --bench handshake -- [--echo-server PATH] [--rounds 3]
//!     [--handshakes 20000] [--concurrency 50] [--connections 100] [--seconds 5]
//! cargo bench -p ferrosocket-core --bench handshake -- --addr 127.0.0.1:9001   # load only
//! cargo bench -p ferrosocket-core --bench handshake -- --baseline OTHER/echo_server  # a third server
//! ```
//!
//! Scenarios, per server and round (servers alternate, the median round is reported):
//! * handshakes: `--concurrency` clients each connect, upgrade, send a close frame and
//!   wait for the server to close, until `--handshakes` are done. Reported: handshakes
//!   per second, and the server's CPU time (user + system, from `/proc`) per handshake.
//! * 64 B echo: `--connections` clients each keep 32 masked 64-byte binary messages in
//!   flight for `--seconds`. Reported: echoed messages per second.
//!
//! The generator does no WebSocket parsing beyond what it must (it counts echoed bytes),
//! so it stays cheaper than either server on the other core.

use std::io;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// A masked close frame with code 1000 (mask 0: the payload bytes stay readable).
const CLOSE: [u8; 8] = [0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8];
const IN_FLIGHT: usize = 32;
const MESSAGE: usize = 64;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(name: &str, default: usize) -> usize {
    arg(name).map_or(default, |v| v.parse().expect("a number"))
}

/// The fastwebsockets peer, as `fastwebsockets/examples/echo_server.rs` writes it.
mod fws {
    use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use tokio::net::TcpListener;

    async fn handle_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
        let mut ws = FragmentCollector::new(fut.await?);
        loop {
            let frame = ws.read_frame().await?;
            match frame.opcode {
                OpCode::Close => break,
                OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
                _ => {}
            }
        }
        Ok(())
    }

    async fn server_upgrade(
        mut req: Request<Incoming>,
    ) -> Result<Response<Empty<Bytes>>, WebSocketError> {
        let (response, fut) = upgrade::upgrade(&mut req)?;
        tokio::task::spawn(async move {
            let _ = tokio::task::unconstrained(handle_client(fut)).await;
        });
        Ok(response)
    }

    pub fn serve() -> std::io::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            println!("echo server listening on ws://{}", listener.local_addr()?);
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = http1::Builder::new()
                        .serve_connection(io, service_fn(server_upgrade))
                        .with_upgrades()
                        .await;
                });
            }
        })
    }
}

/// A server process and the address it printed.
struct Server {
    name: &'static str,
    child: Child,
    addr: String,
}

impl Server {
    fn start(name: &'static str, mut cmd: Command) -> io::Result<Server> {
        let mut child = cmd.stdout(Stdio::piped()).spawn()?;
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("piped")),
            &mut line,
        )?;
        let addr = line
            .trim()
            .rsplit("ws://")
            .next()
            .filter(|a| a.contains(':'))
            .ok_or_else(|| io::Error::other(format!("{name} printed {line:?}")))?
            .to_string();
        Ok(Server { name, child, addr })
    }

    /// CPU time (user + system) the process has used so far.
    fn cpu(&self) -> Duration {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the parenthesised command name; utime and stime are 14 and 15.
        let rest = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<u64> = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|x| x.parse().ok())
            .collect();
        let ticks = f.iter().sum::<u64>();
        // USER_HZ is 100 on Linux.
        Duration::from_millis(ticks * 10)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn one_handshake(addr: &str, buf: &mut [u8]) -> io::Result<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    s.write_all(REQUEST).await?;
    let mut r = BufReader::new(&mut s);
    let mut line = String::new();
    r.read_line(&mut line).await?;
    if !line.starts_with("HTTP/1.1 101") {
        return Err(io::Error::other(format!("no upgrade: {line:?}")));
    }
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
    }
    s.write_all(&CLOSE).await?;
    // Until the server closes the TCP connection (after echoing the close frame).
    while s.read(buf).await? > 0 {}
    Ok(())
}

/// Handshakes per second.
async fn handshakes(addr: &str, total: usize, concurrency: usize) -> io::Result<f64> {
    let left = std::rc::Rc::new(std::cell::Cell::new(total));
    let start = Instant::now();
    let tasks = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for _ in 0..concurrency {
        let left = left.clone();
        let addr = addr.to_string();
        handles.push(tasks.spawn_local(async move {
            let mut buf = [0u8; 512];
            while left.get() > 0 {
                left.set(left.get() - 1);
                one_handshake(&addr, &mut buf).await?;
            }
            io::Result::Ok(())
        }));
    }
    tasks
        .run_until(async {
            for h in handles {
                h.await.map_err(io::Error::other)??;
            }
            io::Result::Ok(())
        })
        .await?;
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Echoed 64-byte messages per second.
async fn echo_64(addr: &str, connections: usize, seconds: u64) -> io::Result<f64> {
    let mut batch = Vec::with_capacity(IN_FLIGHT * (MESSAGE + 6));
    for _ in 0..IN_FLIGHT {
        // FIN + binary, masked, length 64, mask key 0.
        batch.extend_from_slice(&[0x82, 0x80 | MESSAGE as u8, 0, 0, 0, 0]);
        batch.extend_from_slice(&[0x5a; MESSAGE]);
    }
    let echoed_batch = IN_FLIGHT * (MESSAGE + 2);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let tasks = tokio::task::LocalSet::new();
    let mut handles = Vec::new();
    for _ in 0..connections {
        let addr = addr.to_string();
        let batch = batch.clone();
        handles.push(tasks.spawn_local(async move {
            let mut s = TcpStream::connect(&addr).await?;
            s.set_nodelay(true)?;
            s.write_all(REQUEST).await?;
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                s.read_exact(&mut byte).await?;
                head.push(byte[0]);
            }
            let mut buf = vec![0u8; 64 * 1024];
            let mut messages = 0usize;
            while Instant::now() < deadline {
                s.write_all(&batch).await?;
                let mut got = 0;
                while got < echoed_batch {
                    let n = s.read(&mut buf).await?;
                    if n == 0 {
                        return Err(io::ErrorKind::UnexpectedEof.into());
                    }
                    got += n;
                }
                messages += IN_FLIGHT;
            }
            let _ = s.write_all(&CLOSE).await;
            io::Result::Ok(messages)
        }));
    }
    let start = Instant::now();
    let total = tasks
        .run_until(async {
            let mut total = 0;
            for h in handles {
                total += h.await.map_err(io::Error::other)??;
            }
            io::Result::Ok(total)
        })
        .await?;
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> io::Result<()> {
    if std::env::args().any(|a| a == "--serve-fastwebsockets") {
        return fws::serve();
    }
    let echo_server = arg("--echo-server").unwrap_or_else(|| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../target/release/examples/echo_server"
        )
        .into()
    });
    let rounds = num("--rounds", 3);
    let total = num("--handshakes", 20_000);
    let concurrency = num("--concurrency", 50);
    let connections = num("--connections", 100);
    let seconds = num("--seconds", 5) as u64;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(addr) = arg("--addr") {
        // Load only, against a server started elsewhere (for profiling it).
        let r = rt.block_on(handshakes(&addr, total, concurrency))?;
        println!("{addr}: {r:.0} handshakes/s");
        return Ok(());
    }
    let mut ours = Command::new(&echo_server);
    ours.args(["--port", "0"]);
    let mut peer = Command::new(std::env::current_exe()?);
    peer.arg("--serve-fastwebsockets");
    let mut servers = vec![
        Server::start("ferrosocket echo_server", ours)?,
        Server::start("fastwebsockets", peer)?,
    ];
    if let Some(path) = arg("--baseline") {
        // Another build of echo_server (e.g. before a change), in the same run.
        let mut cmd = Command::new(path);
        cmd.args(["--port", "0"]);
        servers.push(Server::start("baseline echo_server", cmd)?);
    }
    let mut rate = vec![Vec::new(); servers.len()];
    let mut cpu = vec![Vec::new(); servers.len()];
    let mut echo = vec![Vec::new(); servers.len()];
    for round in 0..rounds {
        for (i, s) in servers.iter().enumerate() {
            let before = s.cpu();
            let r = rt.block_on(handshakes(&s.addr, total, concurrency))?;
            let used = s.cpu().saturating_sub(before);
            rate[i].push(r);
            cpu[i].push(used.as_secs_f64() * 1e6 / total as f64);
            let e = rt.block_on(echo_64(&s.addr, connections, seconds))?;
            echo[i].push(e);
            eprintln!(
                "round {round} {:<24} {r:>9.0} handshakes/s {:>6.1} µs CPU each {e:>11.0} msgs/s (64 B × {connections})",
                s.name,
                cpu[i][round]
            );
        }
    }
    println!(
        "| server | handshakes/s | server CPU per handshake (µs) | 64 B echo × {connections} (msgs/s) |"
    );
    println!("|---|---:|---:|---:|");
    let m: Vec<(f64, f64, f64)> = (0..servers.len())
        .map(|i| {
            (
                median(rate[i].clone()),
                median(cpu[i].clone()),
                median(echo[i].clone()),
            )
        })
        .collect();
    for (s, (r, c, e)) in servers.iter().zip(&m) {
        println!("| {} | {r:.0} | {c:.1} | {e:.0} |", s.name);
    }
    if m.len() > 2 {
        println!(
            "| ratio (ours / baseline) | {:.2}× | {:.2}× less CPU | {:.2}× |",
            m[0].0 / m[2].0,
            m[2].1 / m[0].1,
            m[0].2 / m[2].2
        );
    }
    println!(
        "| ratio (ours / fastwebsockets) | {:.2}× | {:.2}× less CPU | {:.2}× |",
        m[0].0 / m[1].0,
        m[1].1 / m[0].1,
        m[0].2 / m[1].2
    );
    Ok(())
}
