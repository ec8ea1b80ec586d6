//! What is specific to the `ws` npm package (8.x) and not to RFC 6455: its defaults, in
//! one place. The Node binding exports these to JS, so the façade never retypes them;
//! error codes and messages live with the errors ([`crate::ProtocolError::ws_code`]).

use crate::handshake::{AcceptorConfig, HandshakeError, Limits};
use crate::Config;

/// ws `maxPayload`: 100 MiB.
pub const MAX_PAYLOAD: usize = 100 * 1024 * 1024;
/// Node's HTTP server's `maxHeadersCount`: request heads with this many fields are read
/// (within its 16 KiB `maxHeaderSize`, the default bound on the head's bytes).
pub const MAX_HEADERS: usize = 2000;
/// ws `maxFragments` (8.21+).
pub const MAX_FRAGMENTS: usize = 16 * 1024;
/// ws `maxBufferedChunks` (8.21+).
pub const MAX_BUFFERED_CHUNKS: usize = 256 * 1024;
/// ws `maxPendingAutoPongs`: past it, a peer that pings without reading is terminated.
pub const MAX_PENDING_AUTO_PONGS: usize = 60;
/// ws `closeTimeout` in milliseconds: how long to wait for the peer's close frame (or
/// the end of the transport) after ours was sent before destroying the transport.
pub const CLOSE_TIMEOUT_MS: u64 = 30_000;
/// ws `perMessageDeflate.threshold`: smaller messages are sent uncompressed.
pub const DEFLATE_THRESHOLD: usize = 1024;

/// ws runs all zlib work on Node's thread pool. We compress messages from this size
/// on there (below it the trip to a worker costs more than the work)...
pub const OFFLOAD_DEFLATE_MIN: usize = 64 * 1024;
/// ...and inflate compressed messages from this size on (a compressed byte may
/// inflate to a thousand, so the bar is lower).
pub const OFFLOAD_INFLATE_MIN: usize = 16 * 1024;

/// A connection configured as ws configures one by default.
pub fn config() -> Config {
    Config {
        max_message_size: MAX_PAYLOAD,
        max_frame_size: MAX_PAYLOAD,
        max_fragments: MAX_FRAGMENTS,
        max_buffered_chunks: MAX_BUFFERED_CHUNKS,
        max_pending_pongs: MAX_PENDING_AUTO_PONGS,
        close_timeout: CLOSE_TIMEOUT_MS,
        compress_threshold: DEFLATE_THRESHOLD,
        offload_deflate_min: OFFLOAD_DEFLATE_MIN,
        offload_inflate_min: OFFLOAD_INFLATE_MIN,
        ..Config::default()
    }
}

/// The opening-handshake checks and answers of ws's `handleUpgrade`: no `Host` or
/// `Connection` check, versions 13 and 8, 400 for a bad version (RFC 6455 §4.4 says
/// 426), 400 for an unacceptable permessage-deflate offer.
pub fn acceptor_config() -> AcceptorConfig {
    AcceptorConfig {
        require_host: false,
        require_connection_upgrade: false,
        allow_version_8: true,
        bad_version_status: 400,
        reject_unacceptable_deflate: true,
        limits: Limits {
            max_headers: MAX_HEADERS,
            ..Limits::default()
        },
        ..AcceptorConfig::default()
    }
}

/// The acceptor of ws's own HTTP server (`port` mode): [`acceptor_config`], and a
/// request that is not an upgrade gets [`upgrade_required`].
pub fn port_acceptor_config() -> AcceptorConfig {
    AcceptorConfig {
        answer_plain_http: true,
        ..acceptor_config()
    }
}

/// How long a connection kept alive after a plain request's 426 waits for the next
/// request (Node's `server.keepAliveTimeout` default).
pub const KEEP_ALIVE_TIMEOUT_MS: u64 = 5_000;

/// ws's answer to a plain HTTP request in `port` mode: `426`, the status text as a
/// `text/plain` body.
pub fn upgrade_required() -> HandshakeError {
    HandshakeError::new(426, "Upgrade Required").with_content_type("text/plain")
}
