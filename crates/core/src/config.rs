//! How a connection behaves: its role and its limits.

use crate::keepalive::KeepaliveConfig;

/// Which end of the connection this is; decides the masking rules (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that opened the connection: masks every frame it sends.
    Client,
    /// The end that accepted it: sends unmasked frames, requires masked ones.
    Server,
}

/// Limits and behaviour of a connection. [`crate::ws::config`] gives `ws`'s defaults.
/// Construct it with `..Config::default()` (or `..ws::config()`) so new fields get defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest message (after inflating), in bytes; more fails with 1009.
    pub max_message_size: usize,
    /// Largest single frame payload, in bytes; more fails with 1009.
    pub max_frame_size: usize,
    /// Most frames in one message; more fails with 1008.
    pub max_fragments: usize,
    /// Most received chunks (`feed` calls) that may hold the unread part of one frame
    /// step (header piece or payload), as `ws`'s `maxBufferedChunks` counts them; the
    /// next chunk fails with 1008. Bounds a peer that trickles a frame in tiny pieces.
    /// `usize::MAX` = no limit.
    pub max_buffered_chunks: usize,
    /// Report where each frame of a fragmented binary message ended
    /// ([`Event::FrameEnds`](crate::Event::FrameEnds), before the message), for
    /// bindings that hand out fragments (`ws`'s `binaryType = 'fragments'`).
    pub report_fragments: bool,
    /// Answer pings with pongs while parsing (RFC 6455 §5.5.2). Off: the caller answers
    /// with [`Connection::answer_ping`](crate::Connection::answer_ping) when it delivers
    /// the ping, which keeps the pong behind replies to earlier messages.
    pub auto_pong: bool,
    /// Automatic pongs allowed to wait unwritten; a peer that pings past it without
    /// reading is terminated (as `ws` does), so it cannot grow our memory. 0 = no bound.
    pub max_pending_pongs: usize,
    /// Check that text is UTF-8 (RFC 6455 §8.1). Off = deliver `Event::UncheckedText`.
    pub validate_utf8: bool,
    /// Messages shorter than this are sent uncompressed even when deflate is on.
    pub compress_threshold: usize,
    /// Milliseconds to wait, once our close frame is queued, for the close handshake and
    /// the end of the transport before it is destroyed (RFC 6455 §7.1.1 leaves the time
    /// to the endpoint).
    pub close_timeout: u64,
    /// Bytes queued for sending above which a send reports
    /// [`SendStatus::OverHighWaterMark`](crate::SendStatus).
    pub high_water_mark: usize,
    /// Bytes queued (here and, as told with
    /// [`Connection::set_transport_buffered`](crate::Connection::set_transport_buffered),
    /// in the transport) past which a data message is not queued but refused with
    /// [`UsageError::BackpressureLimit`](crate::UsageError). `None`: no limit (as `ws`).
    /// Control frames are never refused.
    pub max_backpressure: Option<usize>,
    /// At the `max_backpressure` limit, also start the close handshake with
    /// [`BACKPRESSURE_CLOSE_CODE`] instead of only refusing the message.
    pub close_on_backpressure_limit: bool,
    /// Heartbeat, idle timeout and maximum lifetime of the open connection (all off by
    /// default); started by the first [`Connection::poll_deadline`](crate::Connection::poll_deadline).
    pub keepalive: KeepaliveConfig,
    /// Messages to compress from this size on are compressed by a job the caller may
    /// run on another thread ([`Connection::take_deflate_job`]); later sends wait
    /// behind it. `usize::MAX` (the default): always on the caller's thread.
    ///
    /// [`Connection::take_deflate_job`]: crate::Connection::take_deflate_job
    pub offload_deflate_min: usize,
    /// Compressed messages from this size on are inflated by a job
    /// ([`Connection::take_inflate_job`]); later input waits behind it. `usize::MAX`
    /// (the default): always inline.
    ///
    /// [`Connection::take_inflate_job`]: crate::Connection::take_inflate_job
    pub offload_inflate_min: usize,
}

/// The close code sent when `close_on_backpressure_limit` closes a connection that
/// does not read what it is sent (RFC 6455 §7.4.1: 1008, a policy violation).
pub const BACKPRESSURE_CLOSE_CODE: u16 = 1008;

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 64 << 20,
            max_frame_size: 64 << 20,
            max_fragments: 131_072,
            max_buffered_chunks: usize::MAX,
            report_fragments: false,
            auto_pong: true,
            max_pending_pongs: 128,
            validate_utf8: true,
            compress_threshold: 1024,
            close_timeout: 30_000,
            high_water_mark: 16 * 1024,
            max_backpressure: None,
            close_on_backpressure_limit: false,
            keepalive: KeepaliveConfig::default(),
            offload_deflate_min: usize::MAX,
            offload_inflate_min: usize::MAX,
        }
    }
}
