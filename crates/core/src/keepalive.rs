//! Keepalive deadlines of one open link: ping interval, pong timeout and idle timeout.
//!
//! A pure state machine with explicit time (milliseconds on the caller's clock), no timers:
//! the owner reports traffic with [`Keepalive::on_received`], [`Keepalive::on_sent`] and
//! [`Keepalive::on_pong`], arms one timer at [`Keepalive::next_deadline`], and when it fires
//! drains [`Keepalive::poll`] for what is due. The reconnecting client
//! [`Session`](crate::session::Session) uses it; a server connection can use the same piece for
//! its heartbeats (RFC 6455 §5.5.2: a ping may be sent at any time after the handshake).
//!
//! ```
//! use ferrosocket_core::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
//! let mut k = Keepalive::new(KeepaliveConfig { ping_interval_ms: 1000, pong_timeout_ms: 500, ..Default::default() }, 0);
//! assert_eq!(k.next_deadline(), Some(1000));
//! assert_eq!(k.poll(1000), Some(KeepaliveAction::Ping));
//! assert_eq!(k.on_pong(1042), Some(42));
//! assert_eq!(k.poll(1600), None);
//! assert_eq!(k.poll(2000), Some(KeepaliveAction::Ping));
//! assert_eq!(k.poll(2500), Some(KeepaliveAction::Timeout));
//! ```

/// Keepalive timing. Each part is off when 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeepaliveConfig {
    /// A ping is due this long after the previous one (the first: after [`Keepalive::new`]).
    pub ping_interval_ms: u64,
    /// A ping still unanswered this long after it was sent ends the link
    /// ([`KeepaliveAction::Timeout`]). Needs `ping_interval_ms` (or [`Keepalive::probe`]).
    pub pong_timeout_ms: u64,
    /// No inbound traffic for this long ends the link ([`KeepaliveAction::Idle`]).
    pub idle_timeout_ms: u64,
    /// Count the ping interval from the last outbound traffic instead of the last ping: a link
    /// that is busy sending needs no ping to stay open (useful for server heartbeats whose only
    /// aim is to keep middleboxes from timing out). A client that wants to detect a dead peer
    /// while it sends keeps this `false`.
    pub ping_when_quiet: bool,
    /// Inbound traffic of any kind answers an outstanding ping and moves the next ping to
    /// `ping_interval_ms` after it: a peer that talks is alive, and only a quiet one is
    /// pinged (a server heartbeat). Off, only the pong answers (the client Session).
    pub inbound_answers_ping: bool,
    /// Count outbound traffic too for `idle_timeout_ms` (idle = no traffic either way).
    pub idle_counts_outbound: bool,
    /// The link ends this long after it opened ([`KeepaliveAction::Lifetime`]).
    pub max_lifetime_ms: u64,
}

impl KeepaliveConfig {
    /// Whether any deadline is on (a ping interval, an idle timeout or a lifetime).
    pub fn is_on(&self) -> bool {
        self.ping_interval_ms > 0 || self.idle_timeout_ms > 0 || self.max_lifetime_ms > 0
    }
}

/// What is due, from [`Keepalive::poll`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeepaliveAction {
    /// Send a ping now (a protocol ping frame or the application's ping message).
    Ping,
    /// The last ping went unanswered within `pong_timeout_ms`: the peer is presumed gone.
    Timeout,
    /// Nothing arrived within `idle_timeout_ms`.
    Idle,
    /// `max_lifetime_ms` has passed since the link opened.
    Lifetime,
}

/// Keepalive bookkeeping of one open link. See the [module documentation](self).
#[derive(Clone, Debug)]
pub struct Keepalive {
    config: KeepaliveConfig,
    next_ping: u64,
    ping_sent: Option<u64>,
    last_rx: u64,
    last_tx: u64,
    opened: u64,
}

impl Keepalive {
    /// Starts the deadlines of a link that opened at `now`.
    pub fn new(config: KeepaliveConfig, now: u64) -> Self {
        Keepalive {
            config,
            next_ping: now.saturating_add(config.ping_interval_ms),
            ping_sent: None,
            last_rx: now,
            last_tx: now,
            opened: now,
        }
    }

    /// The timing this keepalive runs with.
    pub fn config(&self) -> &KeepaliveConfig {
        &self.config
    }

    /// Any inbound traffic (message, ping, pong): moves the idle deadline.
    pub fn on_received(&mut self, now: u64) {
        self.last_rx = self.last_rx.max(now);
        if self.config.inbound_answers_ping {
            self.ping_sent = None;
            self.next_ping = self
                .next_ping
                .max(self.last_rx.saturating_add(self.config.ping_interval_ms));
        }
    }

    /// Outbound traffic: moves the next ping when [`KeepaliveConfig::ping_when_quiet`] is set.
    pub fn on_sent(&mut self, now: u64) {
        self.last_tx = self.last_tx.max(now);
        if self.config.ping_when_quiet && self.ping_sent.is_none() {
            self.next_ping = self
                .next_ping
                .max(now.saturating_add(self.config.ping_interval_ms));
        }
    }

    /// The answer to the outstanding ping arrived; returns the round-trip time, or `None` when
    /// no ping was outstanding (an unsolicited pong, RFC 6455 §5.5.3). Counts as traffic.
    pub fn on_pong(&mut self, now: u64) -> Option<u64> {
        self.on_received(now);
        self.ping_sent.take().map(|sent| now.saturating_sub(sent))
    }

    /// Whether a ping is outstanding.
    pub fn awaiting_pong(&self) -> bool {
        self.ping_sent.is_some()
    }

    /// Asks for a ping now, outside the interval (e.g. the network changed). Returns `true`
    /// when the caller must send one; `false` when one is already outstanding.
    pub fn probe(&mut self, now: u64) -> bool {
        if self.ping_sent.is_some() {
            return false;
        }
        self.ping_sent = Some(now);
        true
    }

    /// When [`Keepalive::poll`] has something to do next, if ever (absent further input).
    pub fn next_deadline(&self) -> Option<u64> {
        let c = &self.config;
        let ping = (c.ping_interval_ms > 0).then_some(self.next_ping);
        let pong = match self.ping_sent {
            Some(t) if c.pong_timeout_ms > 0 => Some(t.saturating_add(c.pong_timeout_ms)),
            _ => None,
        };
        let idle =
            (c.idle_timeout_ms > 0).then(|| self.last_activity().saturating_add(c.idle_timeout_ms));
        let life = (c.max_lifetime_ms > 0).then(|| self.opened.saturating_add(c.max_lifetime_ms));
        [ping, pong, idle, life].into_iter().flatten().min()
    }

    /// The last traffic that counts for the idle timeout.
    fn last_activity(&self) -> u64 {
        if self.config.idle_counts_outbound {
            self.last_rx.max(self.last_tx)
        } else {
            self.last_rx
        }
    }

    /// What is due at `now`, one action per call (call until `None`). A timeout comes before a
    /// ping; after a `Timeout` or `Idle` the link is over and the keepalive should be dropped.
    pub fn poll(&mut self, now: u64) -> Option<KeepaliveAction> {
        let c = self.config;
        if matches!(self.ping_sent, Some(t) if c.pong_timeout_ms > 0 && now >= t.saturating_add(c.pong_timeout_ms))
        {
            return Some(KeepaliveAction::Timeout);
        }
        if c.idle_timeout_ms > 0 && now >= self.last_activity().saturating_add(c.idle_timeout_ms) {
            return Some(KeepaliveAction::Idle);
        }
        if c.max_lifetime_ms > 0 && now >= self.opened.saturating_add(c.max_lifetime_ms) {
            return Some(KeepaliveAction::Lifetime);
        }
        if c.ping_interval_ms > 0 && now >= self.next_ping {
            self.next_ping = now.saturating_add(c.ping_interval_ms);
            // A ping still unanswered is not doubled; its timeout is what counts.
            if self.ping_sent.is_none() {
                self.ping_sent = Some(now);
                return Some(KeepaliveAction::Ping);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinging(interval: u64, timeout: u64) -> KeepaliveConfig {
        KeepaliveConfig {
            ping_interval_ms: interval,
            pong_timeout_ms: timeout,
            ..KeepaliveConfig::default()
        }
    }

    #[test]
    fn pings_at_the_interval_and_measures_rtt() {
        let mut k = Keepalive::new(pinging(1_000, 500), 0);
        assert_eq!(k.next_deadline(), Some(1_000));
        assert_eq!(k.poll(999), None);
        assert_eq!(k.poll(1_000), Some(KeepaliveAction::Ping));
        assert_eq!(k.poll(1_000), None, "one ping per interval");
        assert_eq!(
            k.next_deadline(),
            Some(1_500),
            "the pong timeout comes first"
        );
        assert_eq!(k.on_pong(1_042), Some(42));
        assert_eq!(k.on_pong(1_043), None, "unsolicited pong");
        assert_eq!(k.next_deadline(), Some(2_000));
        assert_eq!(k.poll(2_000), Some(KeepaliveAction::Ping));
        k.on_received(2_100); // traffic is not the answer
        assert_eq!(k.poll(2_499), None);
        assert_eq!(k.poll(2_500), Some(KeepaliveAction::Timeout));
    }

    #[test]
    fn an_unanswered_ping_is_not_doubled() {
        let mut k = Keepalive::new(pinging(100, 1_000), 0);
        assert_eq!(k.poll(100), Some(KeepaliveAction::Ping));
        assert_eq!(k.poll(200), None);
        assert_eq!(k.poll(300), None);
        assert!(k.awaiting_pong());
        assert_eq!(k.poll(1_100), Some(KeepaliveAction::Timeout));
    }

    #[test]
    fn idle_timeout_counts_inbound_traffic_only() {
        let cfg = KeepaliveConfig {
            idle_timeout_ms: 1_000,
            ..KeepaliveConfig::default()
        };
        let mut k = Keepalive::new(cfg, 0);
        k.on_received(800);
        k.on_sent(1_700);
        assert_eq!(k.next_deadline(), Some(1_800));
        assert_eq!(k.poll(1_799), None);
        assert_eq!(k.poll(1_800), Some(KeepaliveAction::Idle));
        k.on_received(500); // a late report does not move the deadline back
        assert_eq!(k.next_deadline(), Some(1_800));
    }

    #[test]
    fn probe_sends_at_once_and_arms_the_timeout() {
        let mut k = Keepalive::new(pinging(30_000, 2_000), 0);
        assert!(k.probe(100));
        assert!(!k.probe(150), "already outstanding");
        assert_eq!(k.next_deadline(), Some(2_100));
        assert_eq!(k.poll(2_100), Some(KeepaliveAction::Timeout));
    }

    #[test]
    fn ping_when_quiet_defers_pings_while_sending() {
        let cfg = KeepaliveConfig {
            ping_when_quiet: true,
            ..pinging(1_000, 500)
        };
        let mut k = Keepalive::new(cfg, 0);
        k.on_sent(600);
        assert_eq!(k.next_deadline(), Some(1_600));
        assert_eq!(k.poll(1_000), None);
        assert_eq!(k.poll(1_600), Some(KeepaliveAction::Ping));
        // Without the flag, sending changes nothing.
        let mut k = Keepalive::new(pinging(1_000, 500), 0);
        k.on_sent(600);
        assert_eq!(k.poll(1_000), Some(KeepaliveAction::Ping));
    }

    #[test]
    fn inbound_traffic_answers_and_defers_the_ping() {
        let cfg = KeepaliveConfig {
            inbound_answers_ping: true,
            ..pinging(1_000, 500)
        };
        let mut k = Keepalive::new(cfg, 0);
        k.on_received(700);
        assert_eq!(
            k.next_deadline(),
            Some(1_700),
            "quiet for an interval first"
        );
        assert_eq!(k.poll(1_000), None);
        assert_eq!(k.poll(1_700), Some(KeepaliveAction::Ping));
        k.on_received(1_900); // data, not a pong, answers it
        assert!(!k.awaiting_pong());
        assert_eq!(k.poll(2_200), None, "no timeout after the answer");
        assert_eq!(k.next_deadline(), Some(2_900));
        assert_eq!(k.poll(2_900), Some(KeepaliveAction::Ping));
        assert_eq!(k.poll(3_400), Some(KeepaliveAction::Timeout));
    }

    #[test]
    fn idle_can_count_both_ways_and_lifetime_ends_the_link() {
        let cfg = KeepaliveConfig {
            idle_timeout_ms: 1_000,
            idle_counts_outbound: true,
            max_lifetime_ms: 5_000,
            ..KeepaliveConfig::default()
        };
        let mut k = Keepalive::new(cfg, 0);
        k.on_sent(900);
        assert_eq!(k.next_deadline(), Some(1_900));
        assert_eq!(k.poll(1_899), None);
        assert_eq!(k.poll(1_900), Some(KeepaliveAction::Idle));
        let mut k = Keepalive::new(cfg, 0);
        for t in (500..5_000).step_by(500) {
            k.on_received(t);
            assert_eq!(k.poll(t), None);
        }
        assert_eq!(k.next_deadline(), Some(5_000));
        assert_eq!(k.poll(5_000), Some(KeepaliveAction::Lifetime));
    }

    #[test]
    fn all_off_has_no_deadline() {
        let mut k = Keepalive::new(KeepaliveConfig::default(), 0);
        assert_eq!(k.next_deadline(), None);
        assert!(k.probe(5), "a probe still works without an interval");
        assert_eq!(k.next_deadline(), None, "but has no timeout to arm");
        assert_eq!(k.poll(u64::MAX), None);
    }

    #[test]
    fn saturates_at_the_end_of_time() {
        let mut k = Keepalive::new(pinging(u64::MAX, 0), u64::MAX - 1);
        assert_eq!(k.next_deadline(), Some(u64::MAX));
        assert_eq!(k.poll(u64::MAX), Some(KeepaliveAction::Ping));
        assert_eq!(k.poll(u64::MAX), None);
        assert_eq!(k.next_deadline(), Some(u64::MAX));
    }
}
