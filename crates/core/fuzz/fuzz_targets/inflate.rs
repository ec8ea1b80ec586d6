//! Compressed frames (RSV1) with arbitrary payloads: never a panic, and never an
//! inflated message over the limit.
#![no_main]
use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::{Config, Connection, OwnedEvent, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let params = DeflateConfig::default().accept("permessage-deflate").unwrap().unwrap().0;
    let limit = 64 * 1024;
    let mut server = Connection::with_deflate(Role::Server, Config { max_message_size: limit, ..Config::default() }, Some(params));
    // One masked, compressed binary frame carrying the fuzzer's bytes.
    let mut frame = vec![0xc2u8];
    match data.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n < 65536 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        _ => return,
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(data);
    let mut events = Vec::new();
    let _ = server.feed_owned(&frame, &mut events);
    for e in events {
        if let OwnedEvent::Binary(b) = e {
            assert!(b.len() <= limit);
        }
    }
});
