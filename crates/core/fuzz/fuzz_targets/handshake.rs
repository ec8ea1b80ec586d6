//! Request/response heads and extension headers: never a panic.
#![no_main]
use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::handshake::{self, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(Some((req, _))) = handshake::parse_request(data, &limits) {
        if let Ok(up) = handshake::validate_request(&req.method, &req.header_refs(), &limits) {
            if let Some(ext) = up.extensions {
                let _ = DeflateConfig::default().accept(&ext);
            }
        }
    }
    if let Ok(Some((status, headers, _))) = handshake::parse_response(data, &limits) {
        let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let _ = handshake::validate_response("dGhlIHNhbXBsZSBub25jZQ==", &["chat".into()], Some(&DeflateConfig::default()), status, &refs);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = DeflateConfig::default().accept_response(s);
    }
});
