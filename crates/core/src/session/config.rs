//! Options of a [`Session`](super::Session), with safe defaults.

use super::Message;
use crate::keepalive::KeepaliveConfig;

/// How the session checks that an open link is still alive.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeartbeatMode {
    /// No heartbeat: a dead link is found only when the transport reports it.
    Off,
    /// RFC 6455 §5.5.2 ping frames; the pong (§5.5.3) proves liveness and gives the RTT.
    /// Browsers cannot send these: use [`HeartbeatMode::AppPing`] there.
    ProtocolPing,
    /// An application message sent as a ping, and the exact message the server answers with.
    /// The reply is swallowed by the session (`message_received` returns `true`).
    AppPing {
        /// What the session sends as its ping.
        ping: Message,
        /// The peer's exact answer.
        pong: Message,
    },
    /// Send nothing; any inbound message or pong within `timeout_ms` proves liveness.
    ExpectTraffic,
}

/// Heartbeat timing. A ping goes out every `interval_ms`; if its answer has not arrived
/// `timeout_ms` later the link is declared dead, aborted with
/// [`HEARTBEAT_TIMEOUT_CODE`](crate::session::HEARTBEAT_TIMEOUT_CODE) and a reconnect is scheduled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// How liveness is checked.
    pub mode: HeartbeatMode,
    /// Time between pings.
    pub interval_ms: u64,
    /// How long an answer (or, in [`HeartbeatMode::ExpectTraffic`], any traffic) may take.
    pub timeout_ms: u64,
}

impl Heartbeat {
    /// The keepalive deadlines this heartbeat runs on.
    pub fn keepalive(&self) -> KeepaliveConfig {
        let pinging = KeepaliveConfig {
            ping_interval_ms: self.interval_ms.max(1),
            pong_timeout_ms: self.timeout_ms,
            ..KeepaliveConfig::default()
        };
        match self.mode {
            HeartbeatMode::Off => KeepaliveConfig::default(),
            HeartbeatMode::ProtocolPing | HeartbeatMode::AppPing { .. } => pinging,
            HeartbeatMode::ExpectTraffic => KeepaliveConfig {
                idle_timeout_ms: self.timeout_ms.max(1),
                ..KeepaliveConfig::default()
            },
        }
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Heartbeat {
            mode: HeartbeatMode::ProtocolPing,
            interval_ms: 25_000,
            timeout_ms: 10_000,
        }
    }
}

/// What to do when a message does not fit in the send queue.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// Evict the oldest queued messages until the new one fits (each eviction is reported).
    DropOldest,
    /// Keep the queue as it is and drop (report) the new message.
    DropNewest,
    /// Keep the queue as it is and return [`SendError::QueueFull`](super::SendError) to the caller.
    Error,
}

impl Overflow {
    /// `drop-oldest`, `drop-newest`, `error`: the option values of the bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            Overflow::DropOldest => "drop-oldest",
            Overflow::DropNewest => "drop-newest",
            Overflow::Error => "error",
        }
    }
}

/// Bounds of the queue that holds messages sent while the link is not open (and, in
/// acknowledged mode, messages sent but not yet acknowledged).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueConfig {
    /// Most messages held.
    pub max_messages: usize,
    /// Most payload bytes held; a larger message is refused ([`super::DropReason::TooLarge`]).
    pub max_bytes: usize,
    /// What happens when a message does not fit.
    pub overflow: Overflow,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            max_messages: 1000,
            max_bytes: 1 << 20,
            overflow: Overflow::DropOldest,
        }
    }
}

/// Which close codes (RFC 6455 §7.4) end the session instead of triggering a reconnect.
/// Closes the session itself initiates (heartbeat or connection timeout) always reconnect;
/// a user `close()` never does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosePolicy {
    /// Codes after which reconnecting would only repeat the failure: protocol error (1002),
    /// unsupported data (1003), invalid payload (1007), policy violation (1008), too big (1009),
    /// missing extension (1010). Application codes (4000–4999) may be listed too.
    pub stop_codes: Vec<u16>,
    /// Whether application codes 4000–4999 not in `stop_codes` reconnect.
    pub reconnect_app_codes: bool,
}

impl Default for ClosePolicy {
    fn default() -> Self {
        ClosePolicy {
            stop_codes: vec![1002, 1003, 1007, 1008, 1009, 1010],
            reconnect_app_codes: true,
        }
    }
}

impl ClosePolicy {
    /// `None` = the transport closed without a close frame (abnormal, reported as 1006).
    pub fn should_reconnect(&self, code: Option<u16>) -> bool {
        match code {
            None => true,
            Some(c) if self.stop_codes.contains(&c) => false,
            Some(4000..=4999) => self.reconnect_app_codes,
            // 1000 from the peer (a server going away politely), 1001, 1005, 1006, 1011–1014,
            // 3000–3999: the service may well come back.
            Some(_) => true,
        }
    }
}

/// All session options. Times are milliseconds on the caller's clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Smallest reconnect delay, and the first retry's upper bound before growth.
    pub min_delay_ms: u64,
    /// Largest reconnect delay.
    pub max_delay_ms: u64,
    /// Upper bound of retry n is `min(max_delay, min_delay * growth^n)`.
    pub growth_factor: f64,
    /// `None` = retry forever.
    pub max_retries: Option<u32>,
    /// A connection attempt not open after this long is aborted and retried; 0 = no limit.
    pub connect_timeout_ms: u64,
    /// A link that stayed open this long resets the backoff to its first step when it drops.
    pub min_uptime_ms: u64,
    /// How an open link is checked.
    pub heartbeat: Heartbeat,
    /// Bounds of the send queue.
    pub queue: QueueConfig,
    /// Which close codes end the session.
    pub close_policy: ClosePolicy,
    /// Acknowledged, resumable delivery ([`super::wire`]): every message carries a sequence
    /// number, stays queued until the server acknowledges it and is sent again on the next link;
    /// the server's messages are acknowledged and de-duplicated. Needs a server that speaks
    /// [`super::wire::SUBPROTOCOL`].
    pub acknowledged: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_delay_ms: 1_000,
            max_delay_ms: 30_000,
            growth_factor: 2.0,
            max_retries: None,
            connect_timeout_ms: 10_000,
            min_uptime_ms: 5_000,
            heartbeat: Heartbeat::default(),
            queue: QueueConfig::default(),
            close_policy: ClosePolicy::default(),
            acknowledged: false,
        }
    }
}
