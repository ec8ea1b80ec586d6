//! Client side: options → request bytes; response bytes → checked `101`
//! ([`Established`]).

use super::fields::{self, HeaderError};
use super::head::{self, Head, HeadError, Pending};
use super::{wire, Established, HandshakeError, Limits};
use crate::deflate::DeflateConfig;
use crate::extension;
use crate::Role;

/// Request headers that the handshake writes itself.
const REQUEST_HEADERS: [&str; 7] = [
    "Host",
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
];

const DEFLATE: &str = "permessage-deflate";

/// What a client asks for. Every field is checked by [`Connector::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// The `Host` header: the server's authority, e.g. `example.org:8080`.
    pub host: String,
    /// The request target, e.g. `/chat?room=1` (empty means `/`).
    pub path: String,
    /// Subprotocols to offer, most preferred first (RFC 6455 §4.1: tokens, no repeats).
    pub protocols: Vec<String>,
    /// permessage-deflate to offer (RFC 7692 §5); ignored without the `deflate` feature.
    pub deflate: Option<DeflateConfig>,
    /// Further request headers (`Origin`, `Authorization`, cookies, …).
    pub headers: Vec<(String, String)>,
    /// The `Sec-WebSocket-Key` to send; `None` draws a fresh random one (§4.1 item 7).
    pub key: Option<String>,
    /// Bounds on the response head.
    pub limits: Limits,
    /// Require `Connection: Upgrade` in the `101` (RFC 6455 §4.1 item 3 of the
    /// response checks). On by default; `ws` does not check it.
    pub require_connection_upgrade: bool,
}

impl ClientOptions {
    /// Options for `host` and `path` with nothing offered.
    pub fn new(host: &str, path: &str) -> Self {
        ClientOptions {
            host: host.to_string(),
            path: path.to_string(),
            protocols: Vec::new(),
            deflate: None,
            headers: Vec::new(),
            key: None,
            limits: Limits::default(),
            require_connection_upgrade: true,
        }
    }
}

/// Client side of the opening handshake: the request to send, then the server's
/// response bytes, cut anywhere, until the `101` is complete and checked.
///
/// ```
/// use ferrosocket_core::handshake::{Acceptor, AcceptorConfig, ClientOptions, Connector};
/// use ferrosocket_core::Config;
///
/// let mut options = ClientOptions::new("example.org", "/chat");
/// options.protocols = vec!["chat".into()];
/// let mut connector = Connector::new(options).unwrap();
/// // The server side, for the example:
/// let mut incoming = Acceptor::new(AcceptorConfig::default())
///     .feed(connector.request()).unwrap().unwrap();
/// incoming.select_protocol("chat").unwrap();
/// let server = incoming.accept().unwrap();
///
/// let client = connector.feed(&server.response).unwrap().expect("a complete 101");
/// assert_eq!(client.protocol.as_deref(), Some("chat"));
/// let connection = client.connection(Config::default());
/// # let _ = connection;
/// ```
#[derive(Debug)]
pub struct Connector {
    key: String,
    accept: [u8; 28],
    protocols: Vec<String>,
    deflate: Option<DeflateConfig>,
    limits: Limits,
    require_connection_upgrade: bool,
    request: Vec<u8>,
    pending: Pending,
    finished: bool,
}

impl Connector {
    /// Checks the options and builds the request. Every header name and value, the
    /// host, the path, the key and the subprotocols are checked (RFC 7230 §3.2, RFC
    /// 6455 §4.1); headers the handshake writes itself are refused.
    pub fn new(options: ClientOptions) -> Result<Connector, HeaderError> {
        let ClientOptions {
            host,
            path,
            protocols,
            deflate,
            headers,
            key,
            limits,
            require_connection_upgrade,
        } = options;
        if !fields::is_field_value(&host) || host.contains([' ', '\t']) {
            return Err(HeaderError::InvalidValue("Host".into()));
        }
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        if !path.starts_with('/') || !path.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            return Err(HeaderError::InvalidPath(path));
        }
        fields::check_protocols(&protocols)?;
        let mut extra = Vec::new();
        for (k, v) in &headers {
            fields::check_extra_header(k, v, &REQUEST_HEADERS)?;
            wire::push_line(&mut extra, k, v);
        }
        let key = match key {
            None => super::generate_key(),
            Some(k) if fields::parse_key(&k).is_some() => k,
            Some(_) => return Err(HeaderError::InvalidValue("Sec-WebSocket-Key".into())),
        };
        let deflate = deflate.filter(|_| cfg!(feature = "deflate"));
        let offer = deflate.as_ref().map(DeflateConfig::offer);
        let request = wire::request(&host, &path, &key, &protocols, offer.as_deref(), &extra);
        let mut accept = [0u8; 28];
        super::accept_key_into(&key, &mut accept);
        Ok(Connector {
            key,
            accept,
            protocols,
            deflate,
            limits,
            require_connection_upgrade,
            request,
            pending: Pending::default(),
            finished: false,
        })
    }

    /// The request to write.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// The `Sec-WebSocket-Key` sent, for a transport that writes its own request.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The `Sec-WebSocket-Extensions` offer sent, if any.
    pub fn offer(&self) -> Option<String> {
        self.deflate.as_ref().map(DeflateConfig::offer)
    }

    /// The subprotocols offered.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Heap bytes held for an incomplete response head (0 unless it arrived in pieces).
    pub fn buffered_bytes(&self) -> usize {
        self.pending.capacity()
    }

    /// Feeds received bytes. `Ok(None)`: the head is not complete yet. `Ok(Some)`: the
    /// server accepted; the bytes after its head are in [`Established::leftover`].
    /// `Err`: the handshake failed; close the connection.
    ///
    /// The connector is spent once it returned a result or an error; feeding it again
    /// is an error.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Established>, HandshakeError> {
        if self.finished {
            return Err(HandshakeError::new(
                0,
                "The opening handshake was already read",
            ));
        }
        let limits = self.limits;
        let read = self
            .pending
            .feed(bytes, &limits, |b| head::parse_response(b, &limits));
        let result = match read {
            Ok(None) => return Ok(None),
            Ok(Some((res, leftover))) => self.check(res.status, &res.head, leftover).map(Some),
            // A head whose fields could not be read has no readable Upgrade header:
            // the first check fails, as in ws when Node's parser drops fields.
            Err((HeadError::TooManyFields | HeadError::TooLarge, status)) => {
                Err(HandshakeError::new(status, "Invalid Upgrade header"))
            }
            Err((HeadError::Malformed | HeadError::NotHttp11, status)) => {
                Err(HandshakeError::new(status, "Malformed HTTP response"))
            }
        };
        self.finished = true;
        result
    }

    /// Checks a response head parsed elsewhere (e.g. by Node's HTTP client), with the
    /// same rules as [`feed`](Self::feed). Repeated fields are joined with ", ".
    pub fn validate(
        &self,
        status: u16,
        headers: &[(&str, &str)],
    ) -> Result<Established, HandshakeError> {
        let (head, []) = Head::from_parts::<0>([], headers);
        self.check(status, &head, Vec::new())
    }

    /// RFC 6455 §4.1's checks of the response, in `ws`'s order: status, Upgrade,
    /// (Connection), Sec-WebSocket-Accept, subprotocol, extensions.
    fn check(
        &self,
        status: u16,
        head: &Head,
        leftover: Vec<u8>,
    ) -> Result<Established, HandshakeError> {
        let fail = |m: &str| Err(HandshakeError::new(status, m));
        if status != 101 {
            return fail(&format!("Unexpected server response: {status}"));
        }
        if !head
            .field("upgrade")
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
        {
            return fail("Invalid Upgrade header");
        }
        if self.require_connection_upgrade
            && !head
                .field("connection")
                .is_some_and(|v| fields::has_token(&v, "upgrade"))
        {
            return fail("Invalid Connection header");
        }
        if head
            .field("sec-websocket-accept")
            .as_deref()
            .map(str::as_bytes)
            != Some(&self.accept[..])
        {
            return fail("Invalid Sec-WebSocket-Accept header");
        }
        let protocol = head.field("sec-websocket-protocol").map(|p| p.into_owned());
        match &protocol {
            Some(_) if self.protocols.is_empty() => {
                return fail("Server sent a subprotocol but none was requested")
            }
            Some(p) if !self.protocols.contains(p) => {
                return fail("Server sent an invalid subprotocol")
            }
            None if !self.protocols.is_empty() => return fail("Server sent no subprotocol"),
            _ => {}
        }
        let extensions = head
            .field("sec-websocket-extensions")
            .map(|e| e.into_owned());
        let deflate =
            match (&extensions, &self.deflate) {
                (None, _) => None,
                (Some(_), None) => return fail(
                    "Server sent a Sec-WebSocket-Extensions header but no extension was requested",
                ),
                (Some(value), Some(offered)) => {
                    let Ok(exts) = extension::parse(value) else {
                        return fail("Invalid Sec-WebSocket-Extensions header");
                    };
                    // ws groups the response by name: one name, permessage-deflate, whose
                    // first parameter set is taken.
                    let first = match exts.first() {
                        Some(first) if exts.iter().all(|e| e.name == DEFLATE) => first,
                        _ => return fail("Server indicated an extension that was not requested"),
                    };
                    match offered.accept_response(&extension::format(std::slice::from_ref(first))) {
                        Ok(p) => Some(p),
                        Err(_) => return fail("Invalid Sec-WebSocket-Extensions header"),
                    }
                }
            };
        Ok(Established {
            response: Vec::new(),
            leftover,
            protocol,
            extensions,
            deflate,
            role: Role::Client,
        })
    }
}
