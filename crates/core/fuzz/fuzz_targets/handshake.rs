//! Request/response heads and extension headers, through both state machines and cut
//! in two: never a panic, and the cut never changes the outcome.
#![no_main]
use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::handshake::{Acceptor, AcceptorConfig, ClientOptions, Connector};
use libfuzzer_sys::fuzz_target;

fn accept(data: &[u8], cut: usize) -> Option<Result<Vec<u8>, u16>> {
    let mut a = Acceptor::new(AcceptorConfig::default());
    for piece in [&data[..cut], &data[cut..]] {
        match a.feed(piece) {
            Ok(None) => {}
            Ok(Some(mut inc)) => {
                let _ = inc.negotiate_deflate(&DeflateConfig::default());
                return Some(inc.accept().map(|d| d.response).map_err(|e| e.status));
            }
            Err(e) => return Some(Err(e.status)),
        }
    }
    None
}

fn connect(data: &[u8], cut: usize) -> Option<Result<Option<String>, String>> {
    let mut o = ClientOptions::new("h", "/");
    o.protocols = vec!["chat".into()];
    o.deflate = Some(DeflateConfig::default());
    o.key = Some("dGhlIHNhbXBsZSBub25jZQ==".into());
    let mut c = Connector::new(o).expect("valid options");
    for piece in [&data[..cut], &data[cut..]] {
        match c.feed(piece) {
            Ok(None) => {}
            Ok(Some(d)) => return Some(Ok(d.extensions)),
            Err(e) => return Some(Err(e.message)),
        }
    }
    None
}

fuzz_target!(|data: &[u8]| {
    let cut = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    assert_eq!(accept(data, cut), accept(data, 0));
    assert_eq!(connect(data, cut), connect(data, 0));
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = DeflateConfig::default().accept_response(s);
    }
});
