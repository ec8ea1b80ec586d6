//! A WebSocket echo server on the core: text back as text, binary as binary,
//! permessage-deflate accepted when offered. This is what the conformance suite's
//! "fuzzingclient" mode is pointed at, and what `benches/handshake.rs` measures.
//!
//! `cargo run --release -p ferrosocket-core --example echo_server -- --port 9001 [--host 127.0.0.1] [--handshake-timeout-ms 10000]`
//!
//! A client that has not sent its whole request head within the timeout is
//! disconnected. No connection holds a read buffer of its own (see `common`).

mod common;

use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let host = common::arg("--host").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = common::arg("--port")
        .map(|p| p.parse().expect("--port takes a number"))
        .unwrap_or(9001);
    let mut options = common::ServerOptions::default();
    if let Some(ms) = common::arg("--handshake-timeout-ms") {
        let ms = ms.parse().expect("--handshake-timeout-ms takes a number");
        options.handshake_timeout = Duration::from_millis(ms);
    }
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{host} has no address")))?;
    let listener = common::listen(addr)?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    common::serve(listener, options).await
}
