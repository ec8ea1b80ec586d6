//! Drives `ferrosocket_core` over tokio `TcpStream`s: the glue every example needs
//! (handshake I/O, echo loop). Protocol decisions stay in the core.
//!
//! Memory per connection is what the core keeps and nothing more: every socket of a
//! thread is read into one buffer ([`read_with`]); an incomplete handshake head is kept
//! by its [`Acceptor`] (only the bytes that arrived), an incomplete frame by its
//! [`Connection`].

#![allow(dead_code)] // each example uses part of it

use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::handshake::{Acceptor, AcceptorConfig, ClientOptions, Connector};
use ferrosocket_core::{Config, Connection, DataKind, Event, ProtocolError, SendOptions};
use std::cell::RefCell;
use std::io;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The value after `name` on the command line (`--port 9001`).
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Generous limits so the conformance suite's 16 MiB messages and 65,536-fragment
/// messages pass.
pub fn config() -> Config {
    Config {
        max_message_size: 64 << 20,
        max_frame_size: 64 << 20,
        max_fragments: 1 << 20,
        ..Config::default()
    }
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

const READ_BUFFER: usize = 64 * 1024;

thread_local! {
    /// The one read buffer of this thread's connections.
    static READ_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUFFER].into_boxed_slice());
    /// Echoes found in a read, reused (see [`echo_read`]).
    static ECHOES: RefCell<Vec<Echo>> = const { RefCell::new(Vec::new()) };
}

/// Waits until `stream` is readable, reads what it has into the thread's buffer and
/// hands those bytes to `f`. `None`: the peer ended the stream. Nothing is awaited while
/// the buffer is borrowed, so one buffer serves every connection of the thread.
pub async fn read_with<R>(
    stream: &TcpStream,
    mut f: impl FnMut(&mut [u8]) -> R,
) -> io::Result<Option<R>> {
    loop {
        stream.readable().await?;
        let step = READ_BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            match stream.try_read(&mut buf) {
                Ok(0) => Ok(Some(None)),
                Ok(n) => Ok(Some(Some(f(&mut buf[..n])))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                Err(e) => Err(e),
            }
        })?;
        if let Some(done) = step {
            return Ok(done);
        }
    }
}

/// What the handshakes of a server are holding, for tests and monitoring.
#[derive(Debug, Default)]
pub struct HandshakeStats {
    /// Connections whose request head has not been read and answered yet.
    pub in_progress: AtomicUsize,
    /// Heap bytes their acceptors hold ([`Acceptor::buffered_bytes`]).
    pub buffered_bytes: AtomicUsize,
    /// Handshakes dropped because the head did not arrive in time.
    pub timed_out: AtomicUsize,
}

/// Counts one handshake in [`HandshakeStats`] while it lives.
struct InProgress<'a> {
    stats: &'a HandshakeStats,
    bytes: usize,
}

impl<'a> InProgress<'a> {
    fn new(stats: &'a HandshakeStats) -> Self {
        stats.in_progress.fetch_add(1, Ordering::Relaxed);
        InProgress { stats, bytes: 0 }
    }

    fn holds(&mut self, bytes: usize) {
        self.stats
            .buffered_bytes
            .fetch_add(bytes, Ordering::Relaxed);
        self.stats
            .buffered_bytes
            .fetch_sub(self.bytes, Ordering::Relaxed);
        self.bytes = bytes;
    }
}

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.holds(0);
        self.stats.in_progress.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How the example server runs.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// A client must have sent its whole request head within this time (a
    /// slow-loris client would otherwise hold its connection forever).
    pub handshake_timeout: Duration,
    /// Shared counters of the handshakes in progress.
    pub stats: Arc<HandshakeStats>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            handshake_timeout: Duration::from_secs(10),
            stats: Arc::default(),
        }
    }
}

/// A listener whose connections send small frames at once (TCP_NODELAY). Linux copies
/// the option from the listening socket to each accepted one, which saves a system call
/// per connection; elsewhere [`serve`] sets it on each connection.
pub fn listen(addr: std::net::SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Accepts connections forever; each one is upgraded and echoed in its own task.
pub async fn serve(listener: TcpListener, options: ServerOptions) -> io::Result<()> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        if !cfg!(target_os = "linux") {
            stream.set_nodelay(true)?;
        }
        let options = options.clone();
        tokio::spawn(async move {
            if let Ok(Some((conn, rest))) = accept(&mut stream, &options).await {
                let _ = echo(&mut stream, conn, rest).await;
            }
        });
    }
}

/// Server side of the opening handshake; accepts permessage-deflate when offered.
/// Answers bad requests with the matching HTTP error and returns `None`, as it does
/// for a head that is not complete within the timeout (then without an answer).
pub async fn accept(
    stream: &mut TcpStream,
    options: &ServerOptions,
) -> io::Result<Option<(Connection, Vec<u8>)>> {
    let mut acceptor = Acceptor::new(AcceptorConfig::default());
    let mut gauge = InProgress::new(&options.stats);
    let read = tokio::time::timeout(options.handshake_timeout, async {
        loop {
            match read_with(stream, |bytes| acceptor.feed(bytes)).await? {
                None => return io::Result::Ok(None),
                Some(Ok(None)) => gauge.holds(acceptor.buffered_bytes()),
                Some(Ok(Some(incoming))) => return Ok(Some(Ok(incoming))),
                Some(Err(e)) => return Ok(Some(Err(e))),
            }
        }
    })
    .await;
    drop(gauge);
    let checked = match read {
        Err(_elapsed) => {
            options.stats.timed_out.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        Ok(read) => match read? {
            None => return Ok(None),
            Some(checked) => checked,
        },
    };
    // The decision point: this server takes every path, no subprotocol, and
    // permessage-deflate when offered.
    let decided = checked.and_then(|mut incoming| {
        incoming.negotiate_deflate(&DeflateConfig::default())?;
        incoming.accept()
    });
    match decided {
        Ok(done) => {
            stream.write_all(&done.response).await?;
            let conn = done.connection(config());
            Ok(Some((conn, done.leftover)))
        }
        Err(e) => {
            stream.write_all(&e.response()).await?;
            Ok(None)
        }
    }
}

/// Client side of the opening handshake, offering permessage-deflate.
pub async fn connect(addr: &str, path: &str) -> io::Result<(TcpStream, Connection, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let mut options = ClientOptions::new(addr, path);
    options.deflate = Some(DeflateConfig::default());
    let mut connector = Connector::new(options).map_err(other)?;
    stream.write_all(connector.request()).await?;
    loop {
        match read_with(&stream, |bytes| connector.feed(bytes)).await? {
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
            Some(Ok(None)) => continue,
            Some(Ok(Some(done))) => {
                let conn = done.connection(config());
                return Ok((stream, conn, done.leftover));
            }
            Some(Err(e)) => return Err(other(e)),
        }
    }
}

/// A message to echo: where its payload lies in the read buffer, or a copy of it when
/// the connection assembled it elsewhere (fragments, inflated data).
enum Echo {
    InRead(DataKind, Range<usize>),
    Copied(DataKind, Vec<u8>),
}

/// Feeds one read to `conn` and queues the echo of every message in it. Payloads that
/// lie inside `read` (unmasked in place by `feed_mut`) are echoed from there without a
/// copy. Returns the number of messages.
fn echo_read(conn: &mut Connection, read: &mut [u8]) -> (usize, Result<(), ProtocolError>) {
    ECHOES.with(|echoes| {
        let mut echoes = echoes.borrow_mut();
        let base = read.as_ptr() as usize;
        let end = base + read.len();
        let result = conn.feed_mut(read, |event| {
            let (kind, payload) = match event {
                Event::Text(t) => (DataKind::Text, t.as_bytes()),
                Event::Binary(b) => (DataKind::Binary, b),
                _ => return,
            };
            let at = payload.as_ptr() as usize;
            echoes.push(if at >= base && at + payload.len() <= end {
                Echo::InRead(kind, at - base..at - base + payload.len())
            } else {
                Echo::Copied(kind, payload.to_vec())
            });
        });
        let count = echoes.len();
        for echo in echoes.drain(..) {
            let (kind, payload) = match &echo {
                Echo::InRead(kind, range) => (*kind, &read[range.clone()]),
                Echo::Copied(kind, bytes) => (*kind, &bytes[..]),
            };
            // A send after our close is refused by the core; nothing to echo then.
            let _ = conn.send(kind, payload, SendOptions::default());
        }
        (count, result)
    })
}

/// Writes everything queued. `output()` is one contiguous run at a time (shared frames
/// are runs of their own), so loop until it is empty.
async fn flush(stream: &mut TcpStream, conn: &mut Connection) -> io::Result<()> {
    loop {
        let out = conn.output();
        if out.is_empty() {
            return Ok(());
        }
        stream.write_all(out).await?;
        let n = out.len();
        conn.consume_output(n);
    }
}

/// Echoes every text and binary message until the close handshake ends or the peer
/// breaks the protocol. Returns the messages' count.
pub async fn echo(
    stream: &mut TcpStream,
    mut conn: Connection,
    mut first: Vec<u8>,
) -> io::Result<usize> {
    let (mut count, mut result) = echo_read(&mut conn, &mut first);
    drop(first);
    loop {
        flush(stream, &mut conn).await?;
        if result.is_err() || conn.should_close_transport() {
            break;
        }
        match read_with(stream, |read| echo_read(&mut conn, read)).await? {
            None => break,
            Some((n, r)) => {
                count += n;
                result = r;
            }
        }
    }
    // Dropping the stream closes it (FIN): no separate shutdown call is needed.
    Ok(count)
}

/// Reads one text message (used for the suite's case count), then starts the close.
pub async fn read_text(
    stream: &mut TcpStream,
    mut conn: Connection,
    first: Vec<u8>,
) -> io::Result<String> {
    fn take(conn: &mut Connection, bytes: &[u8], text: &mut Option<String>) -> io::Result<()> {
        conn.feed(bytes, |e| {
            if let (Event::Text(t), None) = (e, &text) {
                *text = Some(t.to_string());
            }
        })
        .map_err(other)
    }
    let mut text = None;
    take(&mut conn, &first, &mut text)?;
    while text.is_none() {
        match read_with(stream, |read| take(&mut conn, read, &mut text)).await? {
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
            Some(r) => r?,
        }
    }
    let _ = conn.close(Some(1000), "");
    flush(stream, &mut conn).await?;
    Ok(text.unwrap_or_default())
}
