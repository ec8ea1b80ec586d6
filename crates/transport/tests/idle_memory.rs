//! What an idle open connection keeps on the heap of the transport (beyond its
//! 64-byte table slot, bounded in slot.rs): counted by a counting global allocator
//! around many real 127.0.0.1 connections. The bar is 1 KiB per idle
//! connection for the whole Node process; the transport's part is its boxed core
//! connection and nothing else (no buffer, no copy of the configuration, no queue
//! allocation left by the 101).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use ferrosocket_transport::{Event, Interest, Poller, Server, Token, TransportConfig};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Default)]
struct Tokens(HashMap<Token, RawFd>);

impl Poller for Tokens {
    fn register(&mut self, token: Token, fd: RawFd, _: Interest) -> io::Result<()> {
        self.0.insert(token, fd);
        Ok(())
    }
    fn update(&mut self, _: Token, _: RawFd, _: Interest, _: Interest) {}
    fn deregister(&mut self, token: Token, _: RawFd, _: Interest) {
        self.0.remove(&token);
    }
}

fn open(server: &mut Server<Tokens>, addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut clients = Vec::new();
    for _ in 0..n {
        let mut c = TcpStream::connect(addr).unwrap();
        c.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        )
        .unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        clients.push(c);
    }
    // Accepts come in batches (`accept_batch`).
    let expected = server.len() + n;
    let by = Instant::now() + Duration::from_secs(10);
    while server.len() < expected && Instant::now() < by {
        server.on_ready(Token::LISTENER, true, false, 0);
    }
    let tokens: Vec<Token> = server.poller().0.keys().copied().collect();
    for t in tokens {
        if t != Token::LISTENER {
            server.on_ready(t, true, false, 0);
        }
    }
    let mut events = Vec::new();
    server.take_events(&mut events);
    for e in &events {
        if let Event::Request(t) = e {
            assert!(server.accept(*t, None, None, 0).unwrap());
        }
    }
    server.flush(0);
    for c in &mut clients {
        let mut head = [0u8; 129];
        c.read_exact(&mut head).unwrap();
    }
    clients
}

#[test]
fn an_idle_connection_keeps_only_its_core_connection() {
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut server = Server::bind(addr, TransportConfig::default(), Tokens::default()).unwrap();
    let addr = server.local_addr().unwrap();
    // 300 then 200 more: the table and the poller's map do not grow in between.
    let _warm = open(&mut server, addr, 300);
    let before = LIVE.load(Ordering::Relaxed);
    let _more = open(&mut server, addr, 200);
    let after = LIVE.load(Ordering::Relaxed);
    let per = (after - before) / 200;
    assert_eq!(server.len(), 500);
    // The boxed core `Connection` (≤ 384 bytes, crates/core/tests/conformance.rs),
    // plus this test's token map and the deadline heap's handshake entries.
    assert!(per <= 480, "{per} bytes per idle connection");
}
