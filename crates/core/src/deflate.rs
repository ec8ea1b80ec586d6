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
#[derive(Debug, Clone, PartialEq, Eq, Default)]
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
    /// Our zlib settings (ws's `zlibDeflateOptions` / `zlibInflateOptions`).
    pub zlib: ZlibOptions,
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
    /// Our zlib settings; not negotiated.
    pub zlib: ZlibOptions,
}

/// zlib settings of one endpoint: how hard and with how much memory it compresses, and
/// the steps in which buffers grow. None of it is negotiated (RFC 7692 leaves it to the
/// endpoint); the window sizes are (`*_max_window_bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZlibOptions {
    /// Compression level 0–9 (zlib's default is 6).
    pub level: u32,
    /// Memory of the compressor's hash table, 1–9 (zlib's default 8): each step down
    /// halves it (`1 << (mem_level + 9)` bytes for the hash, the same again for
    /// literals) at some cost in ratio.
    pub mem_level: u8,
    /// zlib strategy: 0 default, 1 filtered, 2 Huffman only, 3 RLE, 4 fixed.
    pub strategy: u8,
    /// Output grows by this much while compressing; 0 = by half the input.
    pub deflate_chunk: usize,
    /// Output grows by this much while inflating (the size limit is checked per step).
    pub inflate_chunk: usize,
}

impl Default for ZlibOptions {
    fn default() -> Self {
        ZlibOptions {
            level: 6,
            mem_level: 8,
            strategy: 0,
            deflate_chunk: 0,
            inflate_chunk: 64 * 1024,
        }
    }
}

impl ZlibOptions {
    /// The same options with every value brought into zlib's range (a value out of it
    /// would make zlib refuse to start, which must not happen mid-connection).
    pub fn clamped(self) -> Self {
        ZlibOptions {
            level: self.level.min(9),
            mem_level: self.mem_level.clamp(1, 9),
            strategy: if self.strategy > 4 { 0 } else { self.strategy },
            deflate_chunk: self.deflate_chunk,
            inflate_chunk: self.inflate_chunk.max(1024),
        }
    }
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
            ws_rules::deflate_params(&accepted, self.zlib),
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
            zlib: self.zlib,
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
        let mut agreed = ws_rules::deflate_params(&params, self.zlib);
        // Resetting our own context is always allowed (§7.1.1.2), and was asked for.
        agreed.client_no_context_takeover |= self.client_no_context_takeover;
        Ok(agreed)
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
}
