//! Opening handshake for both roles: keys, request/response validation, subprotocol and
//! permessage-deflate negotiation. Headers cross the boundary as flat `[name, value, ...]`
//! arrays (Node's `rawHeaders` shape), which costs no object per header.

use ferrosocket_core::deflate::{DeflateConfig, DeflateParams};
use ferrosocket_core::handshake;
use napi::Result;
use napi_derive::napi;

fn pairs(flat: &[String]) -> Vec<(&str, &str)> {
    flat.chunks_exact(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect()
}

fn flatten(headers: &[(String, String)]) -> Vec<String> {
    headers
        .iter()
        .flat_map(|(k, v)| [k.clone(), v.clone()])
        .collect()
}

/// RFC 6455 §1.3: `Sec-WebSocket-Accept` for a key.
#[napi]
pub fn accept_key(key: String) -> String {
    handshake::accept_key(&key)
}

/// A fresh random `Sec-WebSocket-Key`.
#[napi]
pub fn generate_key() -> String {
    handshake::generate_key()
}

/// ws's `perMessageDeflate` options, already normalised by JS (numbers or absent).
#[napi(object)]
#[derive(Default, Clone)]
pub struct DeflateOptions {
    pub server_no_context_takeover: Option<bool>,
    pub client_no_context_takeover: Option<bool>,
    pub server_max_window_bits: Option<u32>,
    pub client_max_window_bits: Option<u32>,
    pub level: Option<i32>,
}

fn deflate_config(o: &DeflateOptions) -> DeflateConfig {
    let bits = |b: Option<u32>| b.and_then(|v| u8::try_from(v).ok());
    DeflateConfig {
        server_no_context_takeover: o.server_no_context_takeover.unwrap_or(false),
        client_no_context_takeover: o.client_no_context_takeover.unwrap_or(false),
        server_max_window_bits: bits(o.server_max_window_bits),
        client_max_window_bits: bits(o.client_max_window_bits),
        level: o
            .level
            .and_then(|l| u32::try_from(l).ok())
            .unwrap_or(DeflateConfig::default().level),
    }
}

/// Negotiated permessage-deflate parameters, handed once to `new Engine(...)`.
#[napi]
pub struct DeflateHandle {
    params: Option<DeflateParams>,
    response: String,
}

impl DeflateHandle {
    pub fn take(&mut self) -> Option<DeflateParams> {
        self.params.take()
    }
}

#[napi]
impl DeflateHandle {
    /// The `Sec-WebSocket-Extensions` value to answer with (server side).
    #[napi(getter)]
    pub fn response(&self) -> String {
        self.response.clone()
    }
}

/// Server side: answers a client's `Sec-WebSocket-Extensions` offer. `null` when no
/// permessage-deflate offer is acceptable; throws on a malformed header.
#[napi]
pub fn server_accept_deflate(
    options: DeflateOptions,
    header: String,
) -> Result<Option<DeflateHandle>> {
    // ws answers an unacceptable offer with 400 rather than declining it.
    match deflate_config(&options).accept_strict(&header) {
        Ok(Some((params, response))) => Ok(Some(DeflateHandle {
            params: Some(params),
            response,
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(napi::Error::from_reason(e.message)),
    }
}

/// Result of validating an upgrade request (server side).
#[napi(object)]
pub struct UpgradeRequest {
    /// On failure: the HTTP status to answer with (400, 405, 426, ...); 0 on success.
    pub status: u32,
    /// On failure: ws's message text.
    pub message: Option<String>,
    /// On failure: extra response headers, flat.
    pub headers: Option<Vec<String>>,
    pub key: Option<String>,
    pub version: Option<u32>,
    pub protocols: Option<Vec<String>>,
    pub extensions: Option<String>,
    pub origin: Option<String>,
}

/// Validates an upgrade request: method, `Upgrade`, `Sec-WebSocket-Key`,
/// `Sec-WebSocket-Version`, `Sec-WebSocket-Protocol`.
#[napi]
pub fn validate_request(method: String, headers: Vec<String>) -> UpgradeRequest {
    // Node has parsed and bounded the head already; accept version 8 and answer a bad
    // version with 400, as ws does.
    let limits = handshake::Limits {
        max_headers: usize::MAX,
        allow_version_8: true,
        bad_version_status: 400,
        ..handshake::Limits::default()
    };
    match handshake::validate_request(&method, &pairs(&headers), &limits) {
        Ok(req) => UpgradeRequest {
            status: 0,
            message: None,
            headers: None,
            key: Some(req.key),
            version: Some(u32::from(req.version)),
            protocols: Some(req.protocols),
            extensions: req.extensions,
            origin: req.origin,
        },
        Err(e) => UpgradeRequest {
            status: u32::from(e.status),
            message: Some(e.message),
            headers: Some(flatten(&e.headers)),
            key: None,
            version: None,
            protocols: None,
            extensions: None,
            origin: None,
        },
    }
}

/// The `101 Switching Protocols` response head (ending with an empty line).
#[napi]
pub fn build_response(key: String, protocol: Option<String>, extensions: Option<String>) -> String {
    let bytes = handshake::response(&key, protocol.as_deref(), extensions.as_deref(), &[]);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Client side of the opening handshake: the key and offers, then the response check.
#[napi]
pub struct ClientHandshake {
    key: String,
    protocols: Vec<String>,
    deflate: Option<DeflateConfig>,
    accepted: Option<handshake::Accepted>,
}

#[napi]
impl ClientHandshake {
    /// Throws "An invalid or duplicated subprotocol was specified" like ws (as a SyntaxError
    /// in JS) when a subprotocol is not an RFC 7230 token or appears twice.
    #[napi(constructor)]
    pub fn new(protocols: Vec<String>, deflate: Option<DeflateOptions>) -> Result<Self> {
        for (i, p) in protocols.iter().enumerate() {
            if !handshake::is_token(p) || protocols[..i].contains(p) {
                return Err(napi::Error::from_reason(
                    "An invalid or duplicated subprotocol was specified",
                ));
            }
        }
        Ok(ClientHandshake {
            key: handshake::generate_key(),
            protocols,
            deflate: deflate.as_ref().map(deflate_config),
            accepted: None,
        })
    }

    /// `Sec-WebSocket-Key` to send.
    #[napi(getter)]
    pub fn key(&self) -> String {
        self.key.clone()
    }

    /// `Sec-WebSocket-Extensions` offer to send, if permessage-deflate is enabled.
    #[napi(getter)]
    pub fn offer(&self) -> Option<String> {
        self.deflate.as_ref().map(DeflateConfig::offer)
    }

    /// Checks the server's 101 response. Returns ws's error message, or `null` when accepted.
    #[napi]
    pub fn validate(&mut self, status: u32, headers: Vec<String>) -> Option<String> {
        let status = u16::try_from(status).unwrap_or(0);
        match handshake::validate_response(
            &self.key,
            &self.protocols,
            self.deflate.as_ref(),
            status,
            &pairs(&headers),
        ) {
            Ok(acc) => {
                self.accepted = Some(acc);
                None
            }
            Err(e) => Some(e.message),
        }
    }

    /// Subprotocol the server selected ('' if none).
    #[napi(getter)]
    pub fn protocol(&self) -> String {
        self.accepted
            .as_ref()
            .and_then(|a| a.protocol.clone())
            .unwrap_or_default()
    }

    /// Negotiated extensions header value ('' if none).
    #[napi(getter)]
    pub fn extensions(&self) -> String {
        self.accepted
            .as_ref()
            .map(|a| a.extensions.clone())
            .unwrap_or_default()
    }

    /// The negotiated permessage-deflate parameters for `new Engine(...)`.
    #[napi]
    pub fn take_deflate(&mut self) -> Option<DeflateHandle> {
        let params = self.accepted.as_mut()?.deflate.take()?;
        Some(DeflateHandle {
            params: Some(params),
            response: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subprotocol_tokens() {
        assert!(handshake::is_token("chat.v2"));
        assert!(!handshake::is_token(""));
        assert!(!handshake::is_token("a b"));
        assert!(!handshake::is_token("a,b"));
    }

    #[test]
    fn headers_cross_as_flat_pairs() {
        let flat = vec!["Host".to_string(), "x".to_string(), "Upgrade".to_string()];
        assert_eq!(pairs(&flat), vec![("Host", "x")]);
        let back = flatten(&[("A".to_string(), "1".to_string())]);
        assert_eq!(back, vec!["A".to_string(), "1".to_string()]);
    }

    #[test]
    fn rfc6455_accept_vector() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ==".to_string()),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn deflate_options_map_to_core_config() {
        let c = deflate_config(&DeflateOptions {
            server_no_context_takeover: Some(true),
            client_max_window_bits: Some(10),
            level: Some(1),
            ..Default::default()
        });
        assert!(c.server_no_context_takeover && !c.client_no_context_takeover);
        assert_eq!(
            (c.client_max_window_bits, c.server_max_window_bits, c.level),
            (Some(10), None, 1)
        );
    }
}
