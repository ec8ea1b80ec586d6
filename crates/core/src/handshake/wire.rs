//! Writing heads: the client's request (RFC 6455 §4.1), the server's `101` (§4.2.2) and
//! its error responses. Every piece written here was checked before (see `fields`).

use super::HandshakeError;

/// Appends a header line; `name` and `value` were checked.
pub(crate) fn push_line(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The `101 Switching Protocols` response; `extra` holds checked header lines.
pub(crate) fn switching_protocols(
    key: &str,
    protocol: Option<&str>,
    extensions: Option<&str>,
    extra: &[u8],
) -> Vec<u8> {
    const START: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
    let mut out = Vec::with_capacity(
        START.len()
            + 32
            + protocol.map_or(0, |p| p.len() + 28)
            + extensions.map_or(0, |e| e.len() + 30)
            + extra.len()
            + 2,
    );
    out.extend_from_slice(START);
    let mut accept = [0u8; 28];
    let n = super::accept_key_into(key, &mut accept);
    out.extend_from_slice(&accept[..n]);
    out.extend_from_slice(b"\r\n");
    if let Some(p) = protocol {
        push_line(&mut out, "Sec-WebSocket-Protocol", p);
    }
    if let Some(e) = extensions {
        push_line(&mut out, "Sec-WebSocket-Extensions", e);
    }
    out.extend_from_slice(extra);
    out.extend_from_slice(b"\r\n");
    out
}

/// The standard reason phrase of a status (RFC 7231 §6.1), as Node's `STATUS_CODES`.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// An error response that ends the connection, as `ws`'s `abortHandshake` writes it.
pub(crate) fn error_response(err: &HandshakeError) -> Vec<u8> {
    let status = if (100..=999).contains(&err.status) {
        err.status
    } else {
        500
    };
    let mut out = Vec::with_capacity(128 + err.message.len());
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
    if err.keeps_alive() {
        push_line(&mut out, "Connection", "keep-alive");
        let timeout = crate::ws::KEEP_ALIVE_TIMEOUT_MS / 1000;
        push_line(&mut out, "Keep-Alive", &format!("timeout={timeout}"));
    } else {
        push_line(&mut out, "Connection", "close");
    }
    push_line(&mut out, "Content-Type", err.content_type());
    push_line(&mut out, "Content-Length", &err.message.len().to_string());
    for (k, v) in err.headers() {
        push_line(&mut out, k, v);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(err.message.as_bytes());
    out
}

/// The client's upgrade request; `extra` holds checked header lines.
pub(crate) fn request(
    host: &str,
    path: &str,
    key: &str,
    protocols: &[String],
    offer: Option<&str>,
    extra: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(160 + host.len() + path.len() + extra.len());
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    push_line(&mut out, "Host", host);
    out.extend_from_slice(b"Upgrade: websocket\r\nConnection: Upgrade\r\n");
    push_line(&mut out, "Sec-WebSocket-Key", key);
    out.extend_from_slice(b"Sec-WebSocket-Version: 13\r\n");
    if !protocols.is_empty() {
        push_line(&mut out, "Sec-WebSocket-Protocol", &protocols.join(", "));
    }
    if let Some(o) = offer {
        push_line(&mut out, "Sec-WebSocket-Extensions", o);
    }
    out.extend_from_slice(extra);
    out.extend_from_slice(b"\r\n");
    out
}
