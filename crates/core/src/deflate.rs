//! permessage-deflate (RFC 7692): negotiation and the per-connection codec.
//!
//! Negotiation (`DeflateConfig::offer`, `accept`, `accept_response`) is always compiled:
//! the browser build needs none of it, but it is small. The codec needs the `deflate`
//! feature (flate2 with the pure-Rust zlib-rs backend).

use crate::deflate_negotiation as ws_rules;
use crate::extension::{self, Extension};
use crate::handshake::HandshakeError;

const NAME: &str = "permessage-deflate";

/// What this endpoint offers (client) or accepts (server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflateConfig {
    /// Ask for / insist on the server resetting its compression context per message.
    pub server_no_context_takeover: bool,
    /// Ask for / insist on the client resetting its compression context per message.
    pub client_no_context_takeover: bool,
    /// Largest LZ77 window (8–15) the server may use; `None` = no limit requested.
    pub server_max_window_bits: Option<u8>,
    /// Largest window (8–15) the client may use; `None` = no limit requested. A client
    /// always offers the bare parameter so the server may limit it.
    pub client_max_window_bits: Option<u8>,
    /// zlib compression level 0–9.
    pub level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        DeflateConfig {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            level: 6,
        }
    }
}

/// The parameters both sides agreed on (RFC 7692 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compression context after each message (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after each message (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// LZ77 window of the server's compressor, 8–15 bits (§7.1.2.1).
    pub server_max_window_bits: u8,
    /// LZ77 window of the client's compressor, 8–15 bits (§7.1.2.2).
    pub client_max_window_bits: u8,
    /// zlib compression level (0–9) of our compressor; not negotiated.
    pub level: u32,
}

fn invalid(msg: &str) -> HandshakeError {
    HandshakeError::new(400, msg)
}

fn window_bits(v: &Option<String>) -> Option<u8> {
    // RFC 7692 §7.1.2: a decimal 8–15 without leading zeros.
    let v = v.as_deref()?;
    if v.starts_with('0') {
        return None;
    }
    v.parse::<u8>().ok().filter(|b| (8..=15).contains(b))
}

/// A parsed permessage-deflate offer or response.
#[derive(Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)` = the bare parameter.
    client_max_window_bits: Option<Option<u8>>,
}

/// RFC 7692 §7.1: unknown parameters, repeated parameters and bad values make the
/// offer (or response) invalid.
fn parse_params(ext: &Extension) -> Option<Params> {
    let mut p = Params::default();
    let mut seen = Vec::new();
    for (k, v) in &ext.params {
        if seen.contains(&k.as_str()) {
            return None;
        }
        seen.push(k.as_str());
        match k.as_str() {
            "server_no_context_takeover" if v.is_none() => p.server_no_context_takeover = true,
            "client_no_context_takeover" if v.is_none() => p.client_no_context_takeover = true,
            "server_max_window_bits" => p.server_max_window_bits = Some(window_bits(v)?),
            "client_max_window_bits" => {
                p.client_max_window_bits = Some(match v {
                    None => None,
                    Some(_) => Some(window_bits(v)?),
                })
            }
            _ => return None,
        }
    }
    Some(p)
}

impl DeflateConfig {
    /// The client's `Sec-WebSocket-Extensions` offer (RFC 7692 §5).
    pub fn offer(&self) -> String {
        let mut params = Vec::new();
        if self.server_no_context_takeover {
            params.push(("server_no_context_takeover".to_string(), None));
        }
        if self.client_no_context_takeover {
            params.push(("client_no_context_takeover".to_string(), None));
        }
        if let Some(b) = self.server_max_window_bits {
            params.push(("server_max_window_bits".to_string(), Some(b.to_string())));
        }
        params.push((
            "client_max_window_bits".to_string(),
            self.client_max_window_bits.map(|b| b.to_string()),
        ));
        extension::format(&[Extension {
            name: NAME.into(),
            params,
        }])
    }

    /// Server side: picks the first acceptable permessage-deflate offer of `header`.
    /// Returns the agreed parameters and the response header value, `Ok(None)` when no
    /// offer is acceptable (the connection goes on uncompressed), or an error for a
    /// header that does not parse.
    pub fn accept(&self, header: &str) -> Result<Option<(DeflateParams, String)>, HandshakeError> {
        let exts = extension::parse(header)
            .map_err(|_| invalid("Invalid or unacceptable Sec-WebSocket-Extensions header"))?;
        for ext in exts.iter().filter(|e| e.name == NAME) {
            // §7.1: an offer with bad parameters is declined; the next one may fit.
            let Some(offer) = parse_params(ext) else {
                continue;
            };
            if let Some(agreed) = self.agree(&offer) {
                return Ok(Some(agreed));
            }
        }
        Ok(None)
    }

    /// Like [`accept`](Self::accept), but the way `ws` answers (its rules, in
    /// [`crate::deflate_negotiation`]): when the client offered permessage-deflate, an
    /// offer with bad parameters or no acceptable offer is an error (400) instead of a
    /// connection without compression.
    pub fn accept_strict(
        &self,
        header: &str,
    ) -> Result<Option<(DeflateParams, String)>, HandshakeError> {
        let unacceptable = || invalid("Invalid or unacceptable Sec-WebSocket-Extensions header");
        let exts = extension::parse(header).map_err(|_| unacceptable())?;
        let offers: Vec<_> = exts
            .iter()
            .filter(|e| e.name == NAME)
            .map(|e| ws_rules::raw(&e.params))
            .collect();
        if offers.is_empty() {
            return Ok(None);
        }
        let accepted = ws_rules::normalize(&offers, true)
            .and_then(|o| ws_rules::accept_as_server(&self.into(), &o))
            .map_err(|_| unacceptable())?;
        let response = extension::format(&[Extension {
            name: NAME.into(),
            params: ws_rules::to_header_params(&accepted),
        }]);
        Ok(Some((
            ws_rules::deflate_params(&accepted, self.level),
            response,
        )))
    }

    fn agree(&self, offer: &Params) -> Option<(DeflateParams, String)> {
        let mut resp = Vec::new();
        let server_nct = self.server_no_context_takeover || offer.server_no_context_takeover;
        if server_nct {
            resp.push(("server_no_context_takeover".to_string(), None));
        }
        let client_nct = self.client_no_context_takeover || offer.client_no_context_takeover;
        if client_nct {
            resp.push(("client_no_context_takeover".to_string(), None));
        }
        let server_bits = match (offer.server_max_window_bits, self.server_max_window_bits) {
            (Some(o), Some(m)) => Some(o.min(m)),
            (o, m) => o.or(m),
        };
        if let Some(b) = server_bits {
            resp.push(("server_max_window_bits".to_string(), Some(b.to_string())));
        }
        let client_bits = match (offer.client_max_window_bits, self.client_max_window_bits) {
            // §7.1.2.2: the server may only limit the client if the client said it can.
            (None, Some(m)) if m < 15 => return None,
            (None, _) => None,
            (Some(o), m) => match (o, m) {
                (Some(o), Some(m)) => Some(o.min(m)),
                (o, m) => o.or(m),
            },
        };
        if let Some(b) = client_bits {
            resp.push(("client_max_window_bits".to_string(), Some(b.to_string())));
        }
        let params = DeflateParams {
            server_no_context_takeover: server_nct,
            client_no_context_takeover: client_nct,
            server_max_window_bits: server_bits.unwrap_or(15),
            client_max_window_bits: client_bits.unwrap_or(15),
            level: self.level,
        };
        Some((
            params,
            extension::format(&[Extension {
                name: NAME.into(),
                params: resp,
            }]),
        ))
    }

    /// Client side: checks the server's response to [`offer`](Self::offer) with `ws`'s
    /// rules and messages (RFC 7692 §7.1; [`crate::deflate_negotiation`]).
    pub fn accept_response(&self, header: &str) -> Result<DeflateParams, HandshakeError> {
        let bad = || invalid("Invalid Sec-WebSocket-Extensions header");
        let exts = extension::parse(header).map_err(|_| bad())?;
        // ws: exactly one extension name, permessage-deflate (it may be listed twice).
        if exts.iter().any(|e| e.name != NAME) {
            return Err(invalid(
                "Server indicated an extension that was not requested",
            ));
        }
        let configs: Vec<_> = exts.iter().map(|e| ws_rules::raw(&e.params)).collect();
        let params = ws_rules::normalize(&configs, false)
            .and_then(|c| ws_rules::accept_as_client(&self.into(), &c))
            .map_err(|_| bad())?;
        let mut agreed = ws_rules::deflate_params(&params, self.level);
        // Resetting our own context is always allowed (§7.1.1.2), and was asked for.
        agreed.client_no_context_takeover |= self.client_no_context_takeover;
        Ok(agreed)
    }
}

#[cfg(feature = "deflate")]
pub(crate) use codec::Codec;

#[cfg(feature = "deflate")]
mod codec {
    use super::DeflateParams;
    use crate::error::ProtocolError as Error;
    use crate::Role;
    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

    /// RFC 7692 §7.2.1: the sync-flush marker removed from (and restored to) each message.
    const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
    /// Inflate output grows in steps of this size so the size limit is checked as it grows.
    const STEP: usize = 64 * 1024;

    /// One connection's compressor and decompressor, created on first use so that a
    /// connection which never sends (or receives) compressed data pays nothing for them.
    pub struct Codec {
        level: u32,
        /// Our window; `None` when the peer allowed only 8 bits, which zlib cannot
        /// produce for raw deflate: we then send uncompressed, which RFC 7692 permits.
        send_bits: Option<u8>,
        send_reset: bool,
        recv_reset: bool,
        compress: Option<Compress>,
        decompress: Option<Decompress>,
    }

    impl std::fmt::Debug for Codec {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Codec")
                .field("send_bits", &self.send_bits)
                .finish()
        }
    }

    impl Codec {
        /// The codec for `role` with the negotiated parameters.
        pub fn new(role: Role, p: &DeflateParams) -> Self {
            let (send_bits, send_reset, recv_reset) = match role {
                Role::Server => (
                    p.server_max_window_bits,
                    p.server_no_context_takeover,
                    p.client_no_context_takeover,
                ),
                Role::Client => (
                    p.client_max_window_bits,
                    p.client_no_context_takeover,
                    p.server_no_context_takeover,
                ),
            };
            Codec {
                level: p.level.min(9),
                send_bits: (send_bits >= 9).then_some(send_bits),
                send_reset,
                recv_reset,
                compress: None,
                decompress: None,
            }
        }

        /// Whether outgoing messages may be compressed at all.
        pub fn can_compress(&self) -> bool {
            self.send_bits.is_some()
        }

        /// Compresses one fragment (or a whole message when `fin`) into `out`. zlib
        /// refuses only when its state is corrupt, which the caller treats as fatal.
        pub fn compress(
            &mut self,
            data: &[u8],
            fin: bool,
            out: &mut Vec<u8>,
        ) -> Result<(), flate2::CompressError> {
            let bits = self.send_bits.unwrap_or(15);
            let level = self.level;
            let c = self.compress.get_or_insert_with(|| {
                Compress::new_with_window_bits(Compression::new(level), false, bits)
            });
            let start_in = c.total_in();
            loop {
                out.reserve((data.len() / 2).max(64));
                let consumed = (c.total_in() - start_in) as usize;
                c.compress_vec(&data[consumed..], out, FlushCompress::Sync)?;
                // The flush is complete once zlib stops short of filling the output.
                if (c.total_in() - start_in) as usize == data.len() && out.len() < out.capacity() {
                    break;
                }
            }
            if fin {
                if out.ends_with(&TAIL) {
                    out.truncate(out.len() - 4);
                }
                if self.send_reset {
                    // §7.1.1: no context takeover → a fresh context for every message.
                    self.compress = None;
                }
            }
            Ok(())
        }

        /// Inflates a whole message into `out`, failing with `MessageTooBig` as soon as
        /// the output would pass `max` bytes (zip bombs stop early).
        pub fn decompress(
            &mut self,
            data: &[u8],
            out: &mut Vec<u8>,
            max: usize,
        ) -> Result<(), Error> {
            let d = self
                .decompress
                .get_or_insert_with(|| Decompress::new_with_window_bits(false, 15));
            for input in [data, &TAIL[..]] {
                let start_in = d.total_in();
                loop {
                    let consumed = (d.total_in() - start_in) as usize;
                    if out.capacity() - out.len() < 1024 {
                        out.reserve_exact(STEP.min(max.saturating_sub(out.len()) + 1).max(1024));
                    }
                    let before_out = out.len();
                    let status = d
                        .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
                        .map_err(|e| Error::InvalidCompressedData(e.to_string()))?;
                    if out.len() > max {
                        return Err(Error::MessageTooBig);
                    }
                    let done_in = (d.total_in() - start_in) as usize == input.len();
                    let progressed = out.len() > before_out;
                    if status == Status::StreamEnd || (done_in && out.len() < out.capacity()) {
                        break;
                    }
                    if !progressed && done_in {
                        break;
                    }
                }
            }
            if self.recv_reset {
                self.decompress = None;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7692_default_offer() {
        assert_eq!(
            DeflateConfig::default().offer(),
            "permessage-deflate; client_max_window_bits"
        );
    }

    #[test]
    fn rfc7692_7_1_server_accepts_first_valid_offer() {
        let cfg = DeflateConfig::default();
        let (p, resp) = cfg
            .accept("permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=9; server_no_context_takeover")
            .unwrap()
            .unwrap();
        assert_eq!(
            resp,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"
        );
        assert_eq!(
            (p.client_max_window_bits, p.server_max_window_bits),
            (9, 15)
        );
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
    }

    #[test]
    fn rfc7692_7_1_2_server_limits_windows() {
        let cfg = DeflateConfig {
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(11),
            ..Default::default()
        };
        let (p, resp) = cfg
            .accept("permessage-deflate; client_max_window_bits")
            .unwrap()
            .unwrap();
        assert_eq!(
            resp,
            "permessage-deflate; server_max_window_bits=10; client_max_window_bits=11"
        );
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (10, 11)
        );
        // A client that cannot limit its window is declined when we need a limit.
        assert_eq!(cfg.accept("permessage-deflate").unwrap(), None);
    }

    #[test]
    fn rfc7692_7_1_invalid_offers_declined() {
        let cfg = DeflateConfig::default();
        for h in [
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover=1",
        ] {
            assert_eq!(cfg.accept(h).unwrap(), None, "{h}");
        }
        assert!(cfg.accept("permessage-deflate;;").is_err());
        assert_eq!(cfg.accept("x-other").unwrap(), None);
    }

    #[test]
    fn strict_acceptance_answers_400_like_ws() {
        let cfg = DeflateConfig {
            client_max_window_bits: Some(10),
            ..Default::default()
        };
        assert_eq!(cfg.accept_strict("x-other").unwrap(), None);
        assert!(cfg
            .accept_strict("permessage-deflate; client_max_window_bits")
            .unwrap()
            .is_some());
        for bad in [
            "permessage-deflate; foo",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate",
        ] {
            assert_eq!(cfg.accept_strict(bad).unwrap_err().status, 400, "{bad}");
            assert_eq!(
                cfg.accept(bad).unwrap(),
                None,
                "{bad}: declined by the RFC path"
            );
        }
    }

    #[test]
    fn rfc7692_client_checks_response() {
        // ws's client rules: the server's own window and context are its business;
        // the client's window may only shrink to what the client allowed.
        let cfg = DeflateConfig {
            server_max_window_bits: Some(10),
            client_max_window_bits: Some(12),
            ..Default::default()
        };
        assert!(cfg.accept_response("permessage-deflate").is_ok());
        let p = cfg
            .accept_response(
                "permessage-deflate; server_max_window_bits=9; client_max_window_bits=11",
            )
            .unwrap();
        assert_eq!(
            (p.server_max_window_bits, p.client_max_window_bits),
            (9, 11)
        );
        let p = cfg.accept_response("permessage-deflate").unwrap();
        assert_eq!(p.client_max_window_bits, 12, "what the client offered");
        for bad in [
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=13",
            "permessage-deflate; foo",
            "permessage-deflate;",
        ] {
            assert_eq!(
                cfg.accept_response(bad).unwrap_err().message,
                "Invalid Sec-WebSocket-Extensions header",
                "{bad}"
            );
        }
        assert_eq!(
            cfg.accept_response("x-foo").unwrap_err().message,
            "Server indicated an extension that was not requested"
        );
        assert!(cfg
            .accept_response("permessage-deflate, permessage-deflate")
            .is_ok());
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn rfc7692_7_2_codec_roundtrip_with_and_without_context() {
        use crate::Role;
        for nct in [false, true] {
            for bits in [9u8, 15] {
                let p = DeflateParams {
                    server_no_context_takeover: nct,
                    client_no_context_takeover: nct,
                    server_max_window_bits: bits,
                    client_max_window_bits: bits,
                    level: 6,
                };
                let mut tx = Codec::new(Role::Client, &p);
                let mut rx = Codec::new(Role::Server, &p);
                for i in 0..20 {
                    let msg = format!("hello hello hello {i} {}", "abc".repeat(i * 50));
                    let mut z = Vec::new();
                    tx.compress(msg.as_bytes(), true, &mut z).unwrap();
                    let mut back = Vec::new();
                    rx.decompress(&z, &mut back, 1 << 20).unwrap();
                    assert_eq!(back, msg.as_bytes());
                }
            }
        }
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn rfc7692_7_2_3_1_hello_example() {
        // RFC 7692 §7.2.3.1: "Hello" compressed, without the sync-flush tail.
        use crate::Role;
        let p = DeflateConfig::default()
            .accept("permessage-deflate")
            .unwrap()
            .unwrap()
            .0;
        let mut rx = Codec::new(Role::Client, &p);
        let mut out = Vec::new();
        rx.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn zip_bomb_stops_at_limit() {
        use crate::Role;
        let p = DeflateConfig::default()
            .accept("permessage-deflate")
            .unwrap()
            .unwrap()
            .0;
        let mut tx = Codec::new(Role::Client, &p);
        let mut z = Vec::new();
        tx.compress(&vec![0u8; 50 << 20], true, &mut z).unwrap();
        assert!(z.len() < 100_000);
        let mut rx = Codec::new(Role::Server, &p);
        let mut out = Vec::new();
        assert_eq!(
            rx.decompress(&z, &mut out, 1 << 20),
            Err(crate::ProtocolError::MessageTooBig)
        );
        assert!(
            out.capacity() <= (1 << 20) + 128 * 1024,
            "grew to {}",
            out.capacity()
        );
    }

    #[cfg(feature = "deflate")]
    #[test]
    fn garbage_is_invalid_compressed_data() {
        use crate::Role;
        let p = DeflateConfig::default()
            .accept("permessage-deflate")
            .unwrap()
            .unwrap()
            .0;
        let mut rx = Codec::new(Role::Server, &p);
        let r = rx.decompress(&[0xff, 0xff, 0xff, 0xff, 0xff], &mut Vec::new(), 1000);
        assert!(matches!(
            r,
            Err(crate::ProtocolError::InvalidCompressedData(_))
        ));
    }
}
