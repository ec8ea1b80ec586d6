//! Reconnecting heartbeat session: a pure state machine with explicit time.
//!
//! The session never touches a socket, a timer or a clock. The caller (a binding) tells it what
//! happened — [`Session::opened`], [`Session::closed`], [`Session::received`], the user sent or
//! closed — together with the current time in milliseconds, and then drains
//! [`Session::poll_action`] for what to do: connect, send, ping, close, report. It calls
//! [`Session::tick`] when [`Session::next_deadline`] is reached.
//!
//! With [`Config::acknowledged`] the session speaks the [`wire`] protocol: messages stay queued
//! until the server acknowledges them and are sent again after a reconnect; the server's
//! messages are acknowledged and de-duplicated by sequence number.
//!
//! ```
//! use ferrosocket_core::session::{Action, Config, Session};
//! let mut s = Session::with_random(Config::default(), Box::new(|| 0.5));
//! s.start(0);
//! assert!(matches!(s.poll_action(), Some(Action::Connect { attempt: 0 })));
//! s.opened(20, "");
//! s.send(21, "hi".into()).unwrap();
//! assert!(matches!(s.poll_action(), Some(Action::Send(_))));
//! ```

mod backoff;
mod config;
pub mod options;
pub mod peer;
#[cfg(test)]
mod proptests;
mod queue;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ack;
mod types;
pub mod wire;

pub use backoff::{cap as backoff_cap, delay as backoff_delay};
pub use config::{ClosePolicy, Config, Heartbeat, HeartbeatMode, Overflow, QueueConfig};
pub use options::{OptionError, OptionValue, Options};
pub use types::{Action, DropReason, EndReason, Message, Received, SendError, State};

use crate::keepalive::{Keepalive, KeepaliveAction};
use queue::{Pushed, SendQueue};
use std::collections::VecDeque;

/// Close code the session uses when a heartbeat goes unanswered (RFC 6455 §7.4.2: 4000–4999 are
/// for applications). The link is aborted locally; the peer is assumed gone.
pub const HEARTBEAT_TIMEOUT_CODE: u16 = 4000;
/// Close code used to abort an attempt that did not open within `connect_timeout_ms`.
pub const CONNECT_TIMEOUT_CODE: u16 = 4001;
/// Close code used when acknowledged delivery was asked for and the server did not select
/// [`wire::SUBPROTOCOL`].
pub const ACK_REFUSED_CODE: u16 = 4002;
/// Close code used when the user asks for [`Session::reconnect`] (a normal closure, §7.4.1).
pub const RECONNECT_CODE: u16 = 1000;
/// Close code for a frame that breaks the [`wire`] protocol (RFC 6455 §7.4.1: protocol error).
pub const PROTOCOL_ERROR_CODE: u16 = 1002;

/// Random source for the jitter: returns a number in `[0, 1)`. Injected so tests are exact.
pub type Random = Box<dyn FnMut() -> f64 + Send>;

/// Jitter from the OS/browser random source (getrandom; `crypto.getRandomValues` on wasm).
pub fn default_random() -> Random {
    Box::new(|| {
        let mut b = [0u8; 8];
        if getrandom::getrandom(&mut b).is_err() {
            return 0.5;
        }
        // 53 random bits → an exactly representable fraction in [0, 1).
        (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// Sequence bookkeeping of acknowledged delivery.
#[derive(Debug)]
struct Acked {
    /// Session id: unguessable, because the server replays its messages to whoever shows it.
    id: [u8; 16],
    /// Sequence number of the next message sent.
    next_seq: u64,
    /// Highest sequence number received from the server (and acknowledged to it).
    last_in: u64,
}

/// A reconnecting session. See the [module documentation](self).
pub struct Session {
    config: Config,
    random: Random,
    state: State,
    /// Start of the current attempt (Connecting) or of the open link (Open).
    since: u64,
    /// Time the backoff ends (Waiting).
    until: u64,
    retries: u32,
    keepalive: Option<Keepalive>,
    rtt: Option<u64>,
    queue: SendQueue,
    acked: Option<Acked>,
    actions: VecDeque<Action>,
}

impl Session {
    /// A session whose jitter comes from [`default_random`].
    pub fn new(config: Config) -> Self {
        Self::with_random(config, default_random())
    }

    /// A session whose jitter comes from `random`. The acknowledged-mode session id comes from
    /// the OS/browser random source (getrandom).
    pub fn with_random(config: Config, mut random: Random) -> Self {
        let mut id = [0u8; 16];
        if config.acknowledged && getrandom::getrandom(&mut id).is_err() {
            for (i, b) in id.iter_mut().enumerate() {
                *b = (random() * 256.0) as u8 ^ i as u8;
            }
        }
        Self::with_id(config, random, id)
    }

    /// A session with jitter from `random` and acknowledged-mode session id `id`, which must be
    /// unguessable (the server replays its messages to whoever shows it): 16 bytes from a
    /// cryptographic source, e.g. the browser's `crypto.getRandomValues`.
    pub fn with_id(config: Config, random: Random, id: [u8; 16]) -> Self {
        let acked = config.acknowledged.then_some(Acked {
            id,
            next_seq: 1,
            last_in: 0,
        });
        Session {
            config,
            random,
            state: State::Idle,
            since: 0,
            until: 0,
            retries: 0,
            keepalive: None,
            rtt: None,
            queue: SendQueue::default(),
            acked,
            actions: VecDeque::new(),
        }
    }

    // ---- what the caller reads ----

    /// The options this session runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// Where the session is.
    pub fn state(&self) -> State {
        self.state
    }
    /// Failed attempts since the last stable link (the `attempt` of the next `Connect`).
    pub fn retry_count(&self) -> u32 {
        self.retries
    }
    /// Last measured heartbeat round-trip time.
    pub fn rtt(&self) -> Option<u64> {
        self.rtt
    }
    /// Messages held: waiting for a link and, in acknowledged mode, sent but not acknowledged.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }
    /// Payload bytes of [`Session::queued_len`]'s messages.
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes()
    }
    /// When the next attempt starts, while [`State::Waiting`].
    pub fn reconnect_at(&self) -> Option<u64> {
        (self.state == State::Waiting).then_some(self.until)
    }
    /// The acknowledged-mode session id (what HELLO carries).
    pub fn session_id(&self) -> Option<&[u8; 16]> {
        self.acked.as_ref().map(|a| &a.id)
    }
    /// The subprotocol the transport must offer: [`wire::SUBPROTOCOL`] in acknowledged mode.
    pub fn subprotocol(&self) -> Option<&'static str> {
        self.acked.as_ref().map(|_| wire::SUBPROTOCOL)
    }
    /// Whether [`Session::send`] would accept a message of `size` bytes now, without the
    /// message itself: lets a binding refuse an oversized message before copying it.
    pub fn check_send(&self, size: usize) -> Result<(), SendError> {
        let q = &self.config.queue;
        let queues = self.acked.is_some() || self.state != State::Open;
        match self.state {
            State::Closing | State::Closed => Err(SendError::Closed),
            _ if !queues || q.overflow != Overflow::Error => Ok(()),
            _ if !queue::admits(size, q) => Err(SendError::TooLarge),
            _ if !self.queue.fits(size, q) => Err(SendError::QueueFull),
            _ => Ok(()),
        }
    }
    /// Whether a message of `size` bytes is dropped at once as too large (reported with
    /// [`DropReason::TooLarge`]) under a policy other than [`Overflow::Error`].
    pub fn too_large(&self, size: usize) -> bool {
        let queues = self.acked.is_some() || self.state != State::Open;
        queues && !queue::admits(size, &self.config.queue)
    }
    /// Next action to carry out, oldest first.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }
    /// When [`Session::tick`] must be called next, if ever (absent further input).
    pub fn next_deadline(&self) -> Option<u64> {
        match self.state {
            State::Connecting if self.config.connect_timeout_ms > 0 => {
                Some(self.since.saturating_add(self.config.connect_timeout_ms))
            }
            State::Waiting => Some(self.until),
            State::Open => self.keepalive.as_ref().and_then(Keepalive::next_deadline),
            _ => None,
        }
    }

    // ---- what the caller reports ----

    /// Starts the first attempt. Messages sent before this are queued.
    pub fn start(&mut self, now: u64) {
        if self.state == State::Idle {
            self.connect(now);
        }
    }

    /// The transport opened with subprotocol `protocol` ("" for none): flush the queue in order
    /// (acknowledged mode: HELLO, then every unacknowledged message) and start the heartbeat.
    pub fn opened(&mut self, now: u64, protocol: &str) {
        if self.state != State::Connecting {
            return; // stale report from a transport already aborted
        }
        if let Some(a) = &self.acked {
            if protocol != wire::SUBPROTOCOL {
                self.actions.push_back(Action::Abort {
                    code: ACK_REFUSED_CODE,
                    reason: "acknowledged delivery refused".into(),
                });
                self.end(EndReason::AckRefused);
                return;
            }
            let hello = wire::hello(&a.id, a.last_in);
            self.actions.push_back(Action::Send(Message::Binary(hello)));
            for q in self.queue.iter() {
                let frame = frame(q.seq, &q.msg);
                self.actions.push_back(Action::Send(frame));
            }
        } else {
            self.actions.extend(self.queue.take().map(Action::Send));
        }
        self.state = State::Open;
        self.since = now;
        self.keepalive = Some(Keepalive::new(self.config.heartbeat.keepalive(), now));
    }

    /// The transport started closing on its own (the peer's close frame arrived, or the socket
    /// reports it is closing): from now on sends are queued for the next link. [`Session::closed`]
    /// follows when the transport is gone.
    pub fn link_closing(&mut self, _now: u64) {
        if self.state == State::Open {
            self.state = State::LinkClosing;
            self.keepalive = None;
        }
    }

    /// The transport closed (or failed to open). `code` is the peer's close code, `None` when
    /// there was no close frame (abnormal closure, 1006).
    pub fn closed(&mut self, now: u64, code: Option<u16>) {
        match self.state {
            State::Closing => self.end(EndReason::UserClose),
            State::Open | State::LinkClosing | State::Connecting => {
                if self.config.close_policy.should_reconnect(code) {
                    self.link_lost(now);
                } else {
                    self.end(EndReason::CloseCode(code.unwrap_or(1006)));
                }
            }
            _ => {}
        }
    }

    /// A message arrived (`text`: a text frame). Says whether and what to hand to the
    /// application. In acknowledged mode only the first [`wire::HELLO_LEN`] bytes of a binary
    /// message are read unless its length equals a binary heartbeat reply's, so a binding may
    /// pass just that prefix of a large message.
    pub fn received(&mut self, now: u64, data: &[u8], text: bool) -> Received {
        let is_reply = matches!(&self.config.heartbeat.mode,
            HeartbeatMode::AppPing { pong, .. } if matches!(pong, Message::Text(_)) == text && pong.bytes() == data);
        if let Some(k) = self.keepalive.as_mut() {
            if is_reply {
                if let Some(rtt) = k.on_pong(now) {
                    self.rtt = Some(rtt);
                }
            } else {
                k.on_received(now);
            }
        }
        if is_reply {
            return Received::HeartbeatReply;
        }
        let Some(a) = self.acked.as_mut() else {
            return Received::Message;
        };
        if text || !matches!(self.state, State::Open | State::LinkClosing) {
            return Received::Message; // outside the protocol (e.g. app heartbeats)
        }
        match wire::decode(data) {
            Some(wire::Frame::Ack(seq)) => {
                self.queue.ack_through(seq);
                Received::Consumed
            }
            Some(wire::Frame::Data { seq, text }) => {
                let new = seq > a.last_in;
                a.last_in = a.last_in.max(seq);
                // A duplicate is acknowledged again: the server may have missed the first ack.
                let ack = wire::ack(a.last_in);
                self.actions.push_back(Action::Send(Message::Binary(ack)));
                if new {
                    Received::Payload {
                        offset: wire::HEADER_LEN,
                        text,
                    }
                } else {
                    Received::Consumed
                }
            }
            Some(_) | None => {
                self.actions.push_back(Action::Abort {
                    code: PROTOCOL_ERROR_CODE,
                    reason: "invalid acknowledged-delivery frame".into(),
                });
                self.closed(now, Some(PROTOCOL_ERROR_CODE));
                Received::Consumed
            }
        }
    }

    /// A protocol pong arrived (RFC 6455 §5.5.3).
    pub fn pong_received(&mut self, now: u64) {
        let is_reply = self.config.heartbeat.mode == HeartbeatMode::ProtocolPing;
        if let Some(k) = self.keepalive.as_mut() {
            match is_reply.then(|| k.on_pong(now)).flatten() {
                Some(rtt) => self.rtt = Some(rtt),
                None => k.on_received(now),
            }
        }
    }

    /// The user sends a message: straight out when open, queued otherwise (acknowledged mode:
    /// queued in any case until the server acknowledges it).
    pub fn send(&mut self, _now: u64, msg: Message) -> Result<(), SendError> {
        let open = self.state == State::Open;
        match self.state {
            State::Closing | State::Closed => return Err(SendError::Closed),
            State::Open if self.acked.is_none() => {
                self.actions.push_back(Action::Send(msg));
                return Ok(());
            }
            _ => {}
        }
        let seq = self.acked.as_ref().map_or(0, |a| a.next_seq);
        let out = (open && self.acked.is_some()).then(|| frame(seq, &msg));
        match self.queue.push(seq, msg, &self.config.queue) {
            Pushed::Queued(evicted) => {
                if let Some(a) = self.acked.as_mut() {
                    a.next_seq += 1;
                }
                for msg in evicted {
                    self.actions.push_back(Action::Dropped {
                        msg,
                        reason: DropReason::QueueFull,
                    });
                }
                self.actions.extend(out.map(Action::Send));
                Ok(())
            }
            Pushed::Rejected(msg, reason) => {
                if self.config.queue.overflow == Overflow::Error {
                    return Err(match reason {
                        DropReason::TooLarge => SendError::TooLarge,
                        _ => SendError::QueueFull,
                    });
                }
                self.actions.push_back(Action::Dropped { msg, reason });
                Ok(())
            }
        }
    }

    /// The user closes: no reconnect afterwards; queued messages are dropped (reported).
    pub fn close(&mut self, _now: u64, code: u16, reason: &str) {
        match self.state {
            State::Open | State::LinkClosing => {
                self.state = State::Closing;
                self.keepalive = None;
                self.actions.push_back(Action::Close {
                    code,
                    reason: reason.to_owned(),
                });
            }
            State::Connecting => {
                self.actions.push_back(Action::Abort {
                    code,
                    reason: reason.to_owned(),
                });
                self.end(EndReason::UserClose);
            }
            State::Idle | State::Waiting => self.end(EndReason::UserClose),
            State::Closing | State::Closed => {}
        }
    }

    /// The user asks for a fresh link now: the current one (if any) is aborted, the backoff is
    /// reset, and a session that had ended starts again.
    pub fn reconnect(&mut self, now: u64) {
        if matches!(
            self.state,
            State::Open | State::LinkClosing | State::Connecting | State::Closing
        ) {
            self.actions.push_back(Action::Abort {
                code: RECONNECT_CODE,
                reason: "reconnect".into(),
            });
        }
        self.retries = 0;
        self.keepalive = None;
        self.connect(now);
    }

    /// Something suggests the network came back (browser `online`, page visible again):
    /// probe an open link at once, or skip the rest of a backoff wait.
    pub fn wake(&mut self, now: u64) {
        match self.state {
            State::Waiting => self.connect(now),
            State::Open => self.check(now),
            _ => {}
        }
    }

    /// Something suggests the link may be dead (browser `offline`): probe it now instead of
    /// waiting for the next heartbeat. No effect in other states or without a ping mode.
    pub fn check(&mut self, now: u64) {
        let pings = matches!(
            self.config.heartbeat.mode,
            HeartbeatMode::ProtocolPing | HeartbeatMode::AppPing { .. }
        );
        if pings && self.keepalive.as_mut().is_some_and(|k| k.probe(now)) {
            self.push_ping();
        }
    }

    /// Fires what is due at `now`: connection timeout, end of backoff, heartbeat.
    pub fn tick(&mut self, now: u64) {
        match self.state {
            State::Connecting => {
                let t = self.config.connect_timeout_ms;
                if t > 0 && now >= self.since.saturating_add(t) {
                    self.actions.push_back(Action::Abort {
                        code: CONNECT_TIMEOUT_CODE,
                        reason: "connection timeout".into(),
                    });
                    self.link_lost(now);
                }
            }
            State::Waiting if now >= self.until => self.connect(now),
            State::Open => self.tick_heartbeat(now),
            _ => {}
        }
    }

    // ---- internals ----

    fn connect(&mut self, now: u64) {
        self.state = State::Connecting;
        self.since = now;
        self.actions.push_back(Action::Connect {
            attempt: self.retries,
        });
    }

    fn tick_heartbeat(&mut self, now: u64) {
        while let Some(due) = self.keepalive.as_mut().and_then(|k| k.poll(now)) {
            if due == KeepaliveAction::Ping {
                self.push_ping();
                continue;
            }
            self.actions.push_back(Action::HeartbeatTimeout);
            self.actions.push_back(Action::Abort {
                code: HEARTBEAT_TIMEOUT_CODE,
                reason: "heartbeat timeout".into(),
            });
            self.link_lost(now);
            return;
        }
    }

    fn push_ping(&mut self) {
        let action = match &self.config.heartbeat.mode {
            HeartbeatMode::AppPing { ping, .. } => Action::SendHeartbeat(ping.clone()),
            _ => Action::Ping,
        };
        self.actions.push_back(action);
    }

    /// The link (or attempt) is gone and policy says reconnect: schedule the next attempt.
    fn link_lost(&mut self, now: u64) {
        // A link that stayed up long enough proves the service works: start the backoff over.
        let was_open = matches!(self.state, State::Open | State::LinkClosing);
        if was_open && now.saturating_sub(self.since) >= self.config.min_uptime_ms {
            self.retries = 0;
        }
        self.keepalive = None;
        self.retries = self.retries.saturating_add(1);
        if matches!(self.config.max_retries, Some(max) if self.retries > max) {
            self.end(EndReason::MaxRetries);
            return;
        }
        let c = &self.config;
        let unit = (self.random)();
        let delay = backoff::delay(
            c.min_delay_ms,
            c.max_delay_ms,
            c.growth_factor,
            self.retries,
            unit,
        );
        self.state = State::Waiting;
        self.until = now.saturating_add(delay);
        self.actions.push_back(Action::Reconnecting {
            attempt: self.retries,
            delay_ms: delay,
            at: self.until,
        });
    }

    fn end(&mut self, why: EndReason) {
        self.state = State::Closed;
        self.keepalive = None;
        for msg in self.queue.take() {
            self.actions.push_back(Action::Dropped {
                msg,
                reason: DropReason::Closed,
            });
        }
        self.actions.push_back(Action::Ended(why));
    }
}

/// The wire frame of queued message `seq`.
fn frame(seq: u64, msg: &Message) -> Message {
    let text = matches!(msg, Message::Text(_));
    Message::Binary(wire::data(seq, text, msg.bytes()))
}
