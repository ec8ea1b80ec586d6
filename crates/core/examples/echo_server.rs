//! A WebSocket echo server on the core: text back as text, binary as binary,
//! permessage-deflate accepted when offered. This is what the conformance suite's
//! "fuzzingclient" mode is pointed at.
//!
//! `cargo run --release -p ferrosocket-core --example echo_server -- --port 9001 [--host 127.0.0.1]`

mod common;

use tokio::net::TcpListener;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let host = common::arg("--host").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = common::arg("--port")
        .map(|p| p.parse().expect("--port takes a number"))
        .unwrap_or(9001);
    let listener = TcpListener::bind((host.as_str(), port)).await?;
    println!("echo server listening on ws://{}", listener.local_addr()?);
    loop {
        let (mut stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            if let Ok(Some((conn, rest))) = common::accept(&mut stream).await {
                let _ = common::echo(&mut stream, conn, rest).await;
            }
        });
    }
}
