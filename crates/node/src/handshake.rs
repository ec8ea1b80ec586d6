//! The opening handshake for both roles, as the core's state machines run it with
//! `ws`'s rules: Node's HTTP parser reads the head, the core checks it
//! ([`Acceptor::validate`], [`Connector::validate`]), negotiates and writes the `101`.
//! Headers cross the boundary as flat `[name, value, ...]` arrays of strings (JS builds
//! them from `req.headers` / `res.headers`, what ws reads), which costs no object per
//! header. Failures come back as values, never as thrown napi errors.

use ferrosocket_core::deflate::{DeflateConfig, DeflateParams, ZlibOptions};
use ferrosocket_core::handshake::{
    Acceptor, AcceptorConfig, ClientOptions, Connector, Established, HandshakeError, HeaderError,
    Incoming, Limits,
};
use napi::Result;
use napi_derive::napi;

fn pairs(flat: &[String]) -> Vec<(&str, &str)> {
    flat.chunks_exact(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .collect()
}

/// ws's `perMessageDeflate` options, already normalised by JS (numbers or absent).
#[napi(object)]
#[derive(Default, Clone)]
pub struct DeflateOptions {
    pub server_no_context_takeover: Option<bool>,
    pub client_no_context_takeover: Option<bool>,
    pub server_max_window_bits: Option<u32>,
    pub client_max_window_bits: Option<u32>,
    /// `zlibDeflateOptions.level`.
    pub level: Option<i32>,
    /// `zlibDeflateOptions.memLevel`.
    pub mem_level: Option<i32>,
    /// `zlibDeflateOptions.strategy`.
    pub strategy: Option<i32>,
    /// `zlibDeflateOptions.chunkSize`.
    pub deflate_chunk_size: Option<u32>,
    /// `zlibInflateOptions.chunkSize`.
    pub inflate_chunk_size: Option<u32>,
}

pub(crate) fn deflate_config(o: &DeflateOptions) -> DeflateConfig {
    let bits = |b: Option<u32>| b.and_then(|v| u8::try_from(v).ok());
    DeflateConfig {
        server_no_context_takeover: o.server_no_context_takeover.unwrap_or(false),
        client_no_context_takeover: o.client_no_context_takeover.unwrap_or(false),
        server_max_window_bits: bits(o.server_max_window_bits),
        client_max_window_bits: bits(o.client_max_window_bits),
        zlib: zlib_options(o),
    }
}

/// ws's zlib options; out-of-range values are clamped by the core, absent ones are
/// zlib's defaults (ws's `level` -1 = zlib's default too).
fn zlib_options(o: &DeflateOptions) -> ZlibOptions {
    let d = ZlibOptions::default();
    let small =
        |v: Option<i32>, default: u8| v.and_then(|v| u8::try_from(v).ok()).unwrap_or(default);
    ZlibOptions {
        level: o
            .level
            .and_then(|l| u32::try_from(l).ok())
            .unwrap_or(d.level),
        mem_level: small(o.mem_level, d.mem_level),
        strategy: small(o.strategy, d.strategy),
        deflate_chunk: o.deflate_chunk_size.map_or(d.deflate_chunk, |c| c as usize),
        inflate_chunk: o.inflate_chunk_size.map_or(d.inflate_chunk, |c| c as usize),
    }
}

/// Negotiated permessage-deflate parameters, handed once to `new Engine(...)`.
#[napi]
pub struct DeflateHandle {
    params: Option<DeflateParams>,
}

impl DeflateHandle {
    /// A handle for parameters agreed elsewhere (ws's `PerMessageDeflate#accept`).
    pub(crate) fn new(params: DeflateParams) -> Self {
        DeflateHandle {
            params: Some(params),
        }
    }

    /// The parameters, once (the engine that takes them owns them).
    pub fn take(&mut self) -> Option<DeflateParams> {
        self.params.take()
    }
}

/// A refused handshake as JS answers it: status, ws's message, extra response headers.
#[napi(object)]
pub struct HandshakeFailure {
    /// HTTP status (server) or the response's status (client).
    pub status: u32,
    /// ws's message text.
    pub message: String,
    /// Extra response headers, flat (e.g. `Sec-WebSocket-Version` with a bad version).
    pub headers: Vec<String>,
}

impl From<HandshakeError> for HandshakeFailure {
    fn from(e: HandshakeError) -> Self {
        HandshakeFailure {
            status: u32::from(e.status),
            headers: e
                .headers()
                .iter()
                .flat_map(|(k, v)| [k.clone(), v.clone()])
                .collect(),
            message: e.message,
        }
    }
}

/// Server side: one upgrade request, checked and answered in ws's order. JS calls the
/// steps in turn and stops at the first failure: `failure` (method, Upgrade, key,
/// version), its own routing, `checkProtocols()`, `negotiateDeflate()`, its
/// `verifyClient`, then `accept()`.
#[napi]
pub struct ServerHandshake {
    incoming: Option<Incoming>,
    failure: Option<HandshakeError>,
    deflate: Option<DeflateParams>,
}

#[napi]
impl ServerHandshake {
    /// Checks a request Node parsed: `method`, `url`, and its headers flat (from
    /// `req.headers`). Never throws.
    #[napi(constructor)]
    pub fn new(method: String, url: String, headers: Vec<String>) -> Self {
        // Node has parsed and bounded the head already.
        let config = AcceptorConfig {
            limits: Limits {
                max_headers: usize::MAX,
                ..Limits::default()
            },
            ..AcceptorConfig::ws()
        };
        let (incoming, failure) =
            match Acceptor::new(config).validate(&method, &url, &pairs(&headers)) {
                Ok(incoming) => (Some(incoming), None),
                Err(e) => (None, Some(e)),
            };
        ServerHandshake {
            incoming,
            failure,
            deflate: None,
        }
    }

    /// Why the request was refused by the checks so far (`null` when it passed them).
    #[napi(getter)]
    pub fn failure(&self) -> Option<HandshakeFailure> {
        self.failure.clone().map(HandshakeFailure::from)
    }

    /// The version the client asked for (13 or 8; 0 when refused).
    #[napi(getter)]
    pub fn version(&self) -> u32 {
        self.incoming
            .as_ref()
            .map_or(0, |i| u32::from(i.request().version()))
    }

    /// Checks the `Sec-WebSocket-Protocol` header; `null` when it is valid or absent.
    #[napi]
    pub fn check_protocols(&self) -> Option<HandshakeFailure> {
        let incoming = self.incoming.as_ref()?;
        incoming.request().protocols().err().map(Into::into)
    }

    /// The subprotocols the client offered (empty when none or when refused).
    #[napi(getter)]
    pub fn protocols(&self) -> Vec<String> {
        self.incoming
            .as_ref()
            .and_then(|i| i.request().protocols().ok())
            .map(<[String]>::to_vec)
            .unwrap_or_default()
    }

    /// Answers the client's permessage-deflate offer as ws does (an unacceptable offer
    /// is refused with 400); `null` when there is no problem.
    #[napi]
    pub fn negotiate_deflate(&mut self, options: DeflateOptions) -> Option<HandshakeFailure> {
        let incoming = self.incoming.as_mut()?;
        match incoming.negotiate_deflate(&deflate_config(&options)) {
            Ok(p) => {
                self.deflate = p.copied();
                None
            }
            Err(e) => Some(e.into()),
        }
    }

    /// The `101 Switching Protocols` head (ending with its empty line), with the chosen
    /// subprotocol. `null` when the request was refused or already answered. Throws for
    /// a subprotocol that is not a token (it could not be written); JS rethrows it as a
    /// TypeError.
    #[napi]
    pub fn accept(&mut self, protocol: Option<String>) -> Result<Option<String>> {
        self.answer(protocol).map_err(napi::Error::from_reason)
    }

    /// The negotiated permessage-deflate parameters for `new Engine(...)`.
    #[napi]
    pub fn take_deflate(&mut self) -> Option<DeflateHandle> {
        self.deflate
            .take()
            .map(|p| DeflateHandle { params: Some(p) })
    }
}

impl ServerHandshake {
    /// [`accept`](Self::accept) without napi types (unit tests run without Node).
    fn answer(&mut self, protocol: Option<String>) -> std::result::Result<Option<String>, String> {
        let Some(mut incoming) = self.incoming.take() else {
            return Ok(None);
        };
        if let Some(p) = protocol {
            incoming.select_protocol(&p).map_err(|_| {
                format!(
                    "handleProtocols returned {p:?}, which is not a valid subprotocol (an RFC 7230 token)"
                )
            })?;
        }
        match incoming.accept() {
            Ok(done) => Ok(Some(String::from_utf8_lossy(&done.response).into_owned())),
            Err(e) => {
                self.failure = Some(e);
                Ok(None)
            }
        }
    }
}

/// The client's connector with ws's rules (Node writes the request itself, so the
/// connector's own request is not used).
fn connector(
    protocols: Vec<String>,
    deflate: Option<&DeflateOptions>,
) -> std::result::Result<Connector, HeaderError> {
    let mut options = ClientOptions::new("", "/");
    options.protocols = protocols;
    options.deflate = deflate.map(deflate_config);
    // ws does not check `Connection: Upgrade` in the response.
    options.require_connection_upgrade = false;
    Connector::new(options)
}

/// Client side: the key and offers to send, then the check of the server's response
/// (which Node's HTTP client parsed), in ws's order.
#[napi]
pub struct ClientHandshake {
    connector: Connector,
    established: Option<Established>,
}

#[napi]
impl ClientHandshake {
    /// Throws ws's "An invalid or duplicated subprotocol was specified" (JS rethrows it
    /// as a SyntaxError) when a subprotocol is not a token or appears twice.
    #[napi(constructor)]
    pub fn new(protocols: Vec<String>, deflate: Option<DeflateOptions>) -> Result<Self> {
        let connector = connector(protocols, deflate.as_ref())
            .map_err(|e| napi::Error::from_reason(e.to_string()))?;
        Ok(ClientHandshake {
            connector,
            established: None,
        })
    }

    /// `Sec-WebSocket-Key` to send.
    #[napi(getter)]
    pub fn key(&self) -> String {
        self.connector.key().to_string()
    }

    /// `Sec-WebSocket-Extensions` offer to send, if permessage-deflate is enabled.
    #[napi(getter)]
    pub fn offer(&self) -> Option<String> {
        self.connector.offer()
    }

    /// Checks the server's response (`headers` flat, from `res.headers`). Returns ws's
    /// error message, or `null` when accepted.
    #[napi]
    pub fn validate(&mut self, status: u32, headers: Vec<String>) -> Option<String> {
        let status = u16::try_from(status).unwrap_or(0);
        match self.connector.validate(status, &pairs(&headers)) {
            Ok(done) => {
                self.established = Some(done);
                None
            }
            Err(e) => Some(e.message),
        }
    }

    /// Subprotocol the server selected ('' if none).
    #[napi(getter)]
    pub fn protocol(&self) -> String {
        self.established
            .as_ref()
            .and_then(|a| a.protocol.clone())
            .unwrap_or_default()
    }

    /// The negotiated permessage-deflate parameters for `new Engine(...)`.
    #[napi]
    pub fn take_deflate(&mut self) -> Option<DeflateHandle> {
        let params = self.established.as_mut()?.deflate.take()?;
        Some(DeflateHandle {
            params: Some(params),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn flat(h: &[(&str, &str)]) -> Vec<String> {
        h.iter()
            .flat_map(|(k, v)| [k.to_string(), v.to_string()])
            .collect()
    }

    #[test]
    fn headers_cross_as_flat_pairs() {
        let flat = vec!["Host".to_string(), "x".to_string(), "Upgrade".to_string()];
        assert_eq!(pairs(&flat), vec![("Host", "x")]);
    }

    #[test]
    fn server_steps_follow_ws() {
        let ok = [
            ("upgrade", "websocket"),
            ("sec-websocket-key", KEY),
            ("sec-websocket-version", "13"),
            ("sec-websocket-protocol", "a, b"),
        ];
        // No Host, no Connection: accepted, as ws does.
        let mut hs = ServerHandshake::new("GET".into(), "/".into(), flat(&ok));
        assert!(hs.failure().is_none());
        assert!(hs.check_protocols().is_none());
        assert_eq!(hs.protocols(), ["a", "b"]);
        assert!(hs.negotiate_deflate(DeflateOptions::default()).is_none());
        let head = hs.answer(Some("b".into())).unwrap().unwrap();
        assert!(head.contains("Sec-WebSocket-Protocol: b\r\n"));
        assert!(hs.answer(None).unwrap().is_none(), "answered once");

        let f = ServerHandshake::new("GET".into(), "/".into(), flat(&ok[1..]))
            .failure()
            .unwrap();
        assert_eq!(
            (f.status, f.message.as_str()),
            (400, "Invalid Upgrade header")
        );
        let mut bad = ok;
        bad[2].1 = "7";
        let f = ServerHandshake::new("GET".into(), "/".into(), flat(&bad))
            .failure()
            .unwrap();
        assert_eq!(f.headers, ["Sec-WebSocket-Version", "13, 8"]);
        bad = ok;
        bad[3].1 = "a,,";
        let hs = ServerHandshake::new("GET".into(), "/".into(), flat(&bad));
        assert!(hs.failure().is_none());
        assert_eq!(
            hs.check_protocols().unwrap().message,
            "Invalid Sec-WebSocket-Protocol header"
        );
        let mut hs = ServerHandshake::new("GET".into(), "/".into(), flat(&ok));
        assert!(hs.answer(Some("a b".into())).is_err());
    }

    #[test]
    fn client_offers_and_checks() {
        assert_eq!(
            connector(vec!["a".into(), "a".into()], None)
                .unwrap_err()
                .to_string(),
            "An invalid or duplicated subprotocol was specified"
        );
        let mut c = ClientHandshake {
            connector: connector(vec!["a".into()], Some(&DeflateOptions::default())).unwrap(),
            established: None,
        };
        assert!(c.offer().unwrap().starts_with("permessage-deflate"));
        let accept = ferrosocket_core::handshake::accept_key(&c.key());
        let res = [
            ("upgrade", "websocket"),
            ("sec-websocket-accept", accept.as_str()),
            ("sec-websocket-protocol", "a"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ];
        assert_eq!(c.validate(101, flat(&res)), None);
        assert_eq!(c.protocol(), "a");
        assert!(c.take_deflate().is_some());
        assert_eq!(
            c.validate(101, flat(&res[1..])).as_deref(),
            Some("Invalid Upgrade header")
        );
    }

    #[test]
    fn deflate_options_map_to_core_config() {
        let c = deflate_config(&DeflateOptions {
            server_no_context_takeover: Some(true),
            client_max_window_bits: Some(10),
            level: Some(1),
            mem_level: Some(4),
            inflate_chunk_size: Some(4096),
            ..Default::default()
        });
        assert!(c.server_no_context_takeover && !c.client_no_context_takeover);
        assert_eq!(
            (
                c.client_max_window_bits,
                c.server_max_window_bits,
                c.zlib.level
            ),
            (Some(10), None, 1)
        );
        assert_eq!((c.zlib.mem_level, c.zlib.inflate_chunk), (4, 4096));
        // ws's level -1 (zlib's default) and absent values are zlib's defaults.
        let d = deflate_config(&DeflateOptions {
            level: Some(-1),
            ..Default::default()
        });
        assert_eq!(d.zlib, ZlibOptions::default());
    }
}
