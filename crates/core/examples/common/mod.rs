//! Drives a `ferrosocket_core::Connection` over a tokio `TcpStream`: the glue every
//! example needs (handshake I/O, echo loop). Protocol decisions stay in the core.

#![allow(dead_code)] // each example uses part of it

use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::handshake::{self, ClientRequest, Limits};
use ferrosocket_core::{Config, Connection, OwnedEvent, Role};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Reads until a whole HTTP head is in `buf`; `parse` says when (returns bytes used).
async fn read_head<T>(
    stream: &mut TcpStream,
    mut parse: impl FnMut(&[u8]) -> Result<Option<(T, usize)>, handshake::HandshakeError>,
) -> io::Result<Result<(T, Vec<u8>), handshake::HandshakeError>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse(&buf) {
            Ok(None) => continue,
            Ok(Some((v, used))) => return Ok(Ok((v, buf.split_off(used)))),
            Err(e) => return Ok(Err(e)),
        }
    }
}

/// Server side of the opening handshake; accepts permessage-deflate when offered.
/// Answers bad requests with the matching HTTP error and returns `None`.
pub async fn accept(stream: &mut TcpStream) -> io::Result<Option<(Connection, Vec<u8>)>> {
    let limits = Limits::default();
    let checked = read_head(stream, |b| handshake::parse_request(b, &limits))
        .await?
        .and_then(|(req, rest)| {
            let up = handshake::validate_request(&req.method, &req.header_refs(), &limits)?;
            Ok((up, rest))
        });
    let (up, rest) = match checked {
        Ok(v) => v,
        Err(e) => {
            stream.write_all(&handshake::error_response(&e)).await?;
            return Ok(None);
        }
    };
    let agreed = match up.extensions.as_deref() {
        Some(offer) => DeflateConfig::default().accept(offer).unwrap_or(None),
        None => None,
    };
    let ext = agreed.as_ref().map(|(_, h)| h.as_str());
    stream
        .write_all(&handshake::response(&up.key, None, ext, &[]))
        .await?;
    Ok(Some((
        Connection::with_deflate(Role::Server, config(), agreed.map(|(p, _)| p)),
        rest,
    )))
}

/// Client side of the opening handshake, offering permessage-deflate.
pub async fn connect(addr: &str, path: &str) -> io::Result<(TcpStream, Connection, Vec<u8>)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let deflate = DeflateConfig::default();
    let mut req = ClientRequest::new(addr, path);
    req.extensions = Some(deflate.offer());
    stream.write_all(&req.to_bytes()).await?;
    let limits = Limits::default();
    let (head, rest) = read_head(&mut stream, |b| {
        handshake::parse_response(b, &limits).map(|o| o.map(|(s, h, n)| ((s, h), n)))
    })
    .await?
    .map_err(other)?;
    let (status, headers) = head;
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let acc = handshake::validate_response(&req.key, &req.protocols, Some(&deflate), status, &refs)
        .map_err(other)?;
    Ok((
        stream,
        Connection::with_deflate(Role::Client, config(), acc.deflate),
        rest,
    ))
}

/// Echoes every text and binary message until the close handshake ends or the peer
/// breaks the protocol. Returns the messages' count.
pub async fn echo(
    stream: &mut TcpStream,
    mut conn: Connection,
    first: Vec<u8>,
) -> io::Result<usize> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut events = Vec::new();
    let mut count = 0;
    let mut input = first;
    loop {
        let result = conn.feed_owned(&input, &mut events);
        for e in events.drain(..) {
            // A send after our close is refused by the core; nothing to echo then.
            let _ = match e {
                OwnedEvent::Text(t) => conn.send_text(&t).map(drop),
                OwnedEvent::Binary(b) => conn.send_binary(&b).map(drop),
                _ => Ok(()),
            };
            count += 1;
        }
        if conn.has_output() {
            stream.write_all(conn.output()).await?;
            let n = conn.output().len();
            conn.consume_output(n);
        }
        if result.is_err() || conn.should_close_transport() {
            break;
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        input.clear();
        input.extend_from_slice(&buf[..n]);
    }
    let _ = stream.shutdown().await;
    Ok(count)
}

/// Reads one text message (used for the suite's case count).
pub async fn read_text(
    stream: &mut TcpStream,
    mut conn: Connection,
    first: Vec<u8>,
) -> io::Result<String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut events = Vec::new();
    let mut input = first;
    loop {
        conn.feed_owned(&input, &mut events).map_err(other)?;
        if let Some(OwnedEvent::Text(t)) = events
            .iter()
            .find(|e| matches!(e, OwnedEvent::Text(_)))
            .cloned()
        {
            let _ = conn.close(Some(1000), "");
            stream.write_all(conn.output()).await?;
            return Ok(t);
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        input.clear();
        input.extend_from_slice(&buf[..n]);
    }
}
