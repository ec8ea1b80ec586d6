//! Reconnecting heartbeat session: a pure state machine with explicit time.
//!
//! The session never touches a socket, a timer or a clock. The caller (a binding) tells it what
//! happened — [`Session::opened`], [`Session::closed`], a message or pong arrived, the user sent
//! or closed — together with the current time in milliseconds, and then drains
//! [`Session::poll_action`] for what to do: connect, send, ping, close, report. It calls
//! [`Session::tick`] when [`Session::next_deadline`] is reached.
//!
//! ```
//! use ferrosocket_core::session::{Action, Config, Session};
//! let mut s = Session::with_random(Config::default(), Box::new(|| 0.5));
//! s.start(0);
//! assert!(matches!(s.poll_action(), Some(Action::Connect { attempt: 0 })));
//! s.opened(20);
//! s.send(21, "hi".into()).unwrap();
//! assert!(matches!(s.poll_action(), Some(Action::Send(_))));
//! ```

mod backoff;
mod config;
#[cfg(test)]
mod proptests;
mod queue;
#[cfg(test)]
mod tests;

pub use backoff::{cap as backoff_cap, delay as backoff_delay};
pub use config::{ClosePolicy, Config, Heartbeat, HeartbeatMode, Overflow, QueueConfig};

use queue::{OfflineQueue, Pushed};
use std::collections::VecDeque;

/// Close code the session uses when a heartbeat goes unanswered (RFC 6455 §7.4.2: 4000–4999 are
/// for applications). The link is aborted locally; the peer is assumed gone.
pub const HEARTBEAT_TIMEOUT_CODE: u16 = 4000;
/// Close code used to abort an attempt that did not open within `connect_timeout_ms`.
pub const CONNECT_TIMEOUT_CODE: u16 = 4001;
/// Close code used when the user asks for [`Session::reconnect`] (a normal closure, §7.4.1).
pub const RECONNECT_CODE: u16 = 1000;

/// A data message, as queued and sent by the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
}

impl Message {
    /// Payload size in bytes (what the queue's byte bound counts).
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) => b.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}
impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}
impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b)
    }
}

/// Why a message was not (and will never be) sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The offline queue was full (count or bytes) under its overflow policy.
    QueueFull,
    /// The message alone is larger than the queue's byte bound.
    TooLarge,
    /// The session ended while the message was queued.
    Closed,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue-full",
            DropReason::TooLarge => "too-large",
            DropReason::Closed => "closed",
        }
    }
}

/// Why the session stopped for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The user called [`Session::close`].
    UserClose,
    /// `max_retries` attempts failed in a row.
    MaxRetries,
    /// The peer closed with a code the [`ClosePolicy`] does not reconnect on.
    CloseCode(u16),
}

/// Refusal of [`Session::send`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The session was closed by the user or has ended.
    Closed,
    /// The queue is full and its overflow policy is [`Overflow::Error`].
    QueueFull,
    /// The message is larger than the queue's byte bound and the policy is [`Overflow::Error`].
    TooLarge,
}

/// What the caller must do (or report), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open a new transport (resolve URL/protocol providers now). `attempt` 0 is a fresh start.
    Connect { attempt: u32 },
    /// Send this message on the open transport.
    Send(Message),
    /// Send a protocol ping frame (RFC 6455 §5.5.2).
    Ping,
    /// Send this application-level heartbeat message.
    SendHeartbeat(Message),
    /// Close the transport gracefully and report its close with [`Session::closed`] (user close).
    Close { code: u16, reason: String },
    /// Close the transport and forget it: the session has already moved on, so no further event
    /// of that transport may be reported. Report a close with this code to the user.
    Abort { code: u16, reason: String },
    /// A reconnect is scheduled: retry `attempt` will start at time `at` (`delay_ms` from now).
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
        at: u64,
    },
    /// No heartbeat answer arrived in time; an `Abort` follows.
    HeartbeatTimeout,
    /// A message was given up.
    Dropped { msg: Message, reason: DropReason },
    /// The session stopped for good.
    Ended(EndReason),
}

/// Where the session is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Created, [`Session::start`] not called yet.
    Idle,
    /// A transport is being opened.
    Connecting,
    Open,
    /// The user closed; waiting for the transport to confirm.
    Closing,
    /// Waiting for the backoff delay before the next attempt.
    Waiting,
    /// Ended: user close, `max_retries`, or close-code policy.
    Closed,
}

impl State {
    /// The browser `WebSocket.readyState` this state shows as (waiting counts as connecting).
    pub fn ready_state(self) -> u16 {
        match self {
            State::Idle | State::Connecting | State::Waiting => 0,
            State::Open => 1,
            State::Closing => 2,
            State::Closed => 3,
        }
    }
}

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

/// Heartbeat bookkeeping of an open link.
#[derive(Clone, Copy, Debug)]
struct Beat {
    next_ping: u64,
    ping_sent: Option<u64>,
    last_rx: u64,
}

pub struct Session {
    config: Config,
    random: Random,
    state: State,
    /// Start of the current attempt (Connecting) or of the open link (Open).
    since: u64,
    /// Time the backoff ends (Waiting).
    until: u64,
    retries: u32,
    beat: Beat,
    rtt: Option<u64>,
    queue: OfflineQueue,
    actions: VecDeque<Action>,
}

impl Session {
    /// A session whose jitter comes from [`default_random`].
    pub fn new(config: Config) -> Self {
        Self::with_random(config, default_random())
    }

    pub fn with_random(config: Config, random: Random) -> Self {
        Session {
            config,
            random,
            state: State::Idle,
            since: 0,
            until: 0,
            retries: 0,
            beat: Beat {
                next_ping: 0,
                ping_sent: None,
                last_rx: 0,
            },
            rtt: None,
            queue: OfflineQueue::default(),
            actions: VecDeque::new(),
        }
    }

    // ---- what the caller reads ----

    pub fn config(&self) -> &Config {
        &self.config
    }
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
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }
    pub fn queued_bytes(&self) -> usize {
        self.queue.bytes()
    }
    /// When the next attempt starts, while [`State::Waiting`].
    pub fn reconnect_at(&self) -> Option<u64> {
        (self.state == State::Waiting).then_some(self.until)
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
            State::Open => {
                let hb = &self.config.heartbeat;
                match hb.mode {
                    HeartbeatMode::Off => None,
                    HeartbeatMode::ExpectTraffic => {
                        Some(self.beat.last_rx.saturating_add(hb.timeout_ms))
                    }
                    HeartbeatMode::ProtocolPing | HeartbeatMode::AppPing { .. } => {
                        let timeout = self.beat.ping_sent.map(|t| t.saturating_add(hb.timeout_ms));
                        Some(timeout.map_or(self.beat.next_ping, |t| t.min(self.beat.next_ping)))
                    }
                }
            }
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

    /// The transport opened: flush the queue in order and start the heartbeat.
    pub fn opened(&mut self, now: u64) {
        if self.state != State::Connecting {
            return; // stale report from a transport already aborted
        }
        self.state = State::Open;
        self.since = now;
        self.beat = Beat {
            next_ping: now.saturating_add(self.config.heartbeat.interval_ms),
            ping_sent: None,
            last_rx: now,
        };
        let flushed = self.queue.take();
        self.actions.extend(flushed.into_iter().map(Action::Send));
    }

    /// The transport closed (or failed to open). `code` is the peer's close code, `None` when
    /// there was no close frame (abnormal closure, 1006).
    pub fn closed(&mut self, now: u64, code: Option<u16>) {
        match self.state {
            State::Closing => self.end(EndReason::UserClose),
            State::Open | State::Connecting => {
                if self.config.close_policy.should_reconnect(code) {
                    self.link_lost(now);
                } else {
                    self.end(EndReason::CloseCode(code.unwrap_or(1006)));
                }
            }
            _ => {}
        }
    }

    /// A text message arrived. Returns `true` when it is the heartbeat reply, which the caller
    /// should not deliver to the application.
    pub fn text_received(&mut self, now: u64, text: &str) -> bool {
        let is_reply = matches!(&self.config.heartbeat.mode,
            HeartbeatMode::AppPing { pong: Message::Text(p), .. } if p == text);
        self.received(now, is_reply)
    }

    /// A binary message arrived; see [`Session::text_received`].
    pub fn binary_received(&mut self, now: u64, data: &[u8]) -> bool {
        let is_reply = matches!(&self.config.heartbeat.mode,
            HeartbeatMode::AppPing { pong: Message::Binary(p), .. } if p == data);
        self.received(now, is_reply)
    }

    /// A protocol pong arrived (RFC 6455 §5.5.3).
    pub fn pong_received(&mut self, now: u64) {
        let is_reply = self.config.heartbeat.mode == HeartbeatMode::ProtocolPing;
        self.received(now, is_reply);
    }

    /// The user sends a message: straight out when open, queued otherwise.
    pub fn send(&mut self, _now: u64, msg: Message) -> Result<(), SendError> {
        match self.state {
            State::Open => {
                self.actions.push_back(Action::Send(msg));
                Ok(())
            }
            State::Closing | State::Closed => Err(SendError::Closed),
            State::Idle | State::Connecting | State::Waiting => {
                match self.queue.push(msg, &self.config.queue) {
                    Pushed::Queued(evicted) => {
                        for msg in evicted {
                            self.actions.push_back(Action::Dropped {
                                msg,
                                reason: DropReason::QueueFull,
                            });
                        }
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
        }
    }

    /// The user closes: no reconnect afterwards; queued messages are dropped (reported).
    pub fn close(&mut self, _now: u64, code: u16, reason: &str) {
        match self.state {
            State::Open => {
                self.state = State::Closing;
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
        if matches!(self.state, State::Open | State::Connecting | State::Closing) {
            self.actions.push_back(Action::Abort {
                code: RECONNECT_CODE,
                reason: "reconnect".into(),
            });
        }
        self.retries = 0;
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
        if self.state == State::Open && self.beat.ping_sent.is_none() {
            self.send_ping(now);
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

    fn received(&mut self, now: u64, is_reply: bool) -> bool {
        if self.state != State::Open {
            return is_reply;
        }
        self.beat.last_rx = now;
        if is_reply {
            if let Some(sent) = self.beat.ping_sent.take() {
                self.rtt = Some(now.saturating_sub(sent));
            }
        }
        is_reply
    }

    fn tick_heartbeat(&mut self, now: u64) {
        let hb = &self.config.heartbeat;
        let dead = match hb.mode {
            HeartbeatMode::Off => false,
            HeartbeatMode::ExpectTraffic => now >= self.beat.last_rx.saturating_add(hb.timeout_ms),
            HeartbeatMode::ProtocolPing | HeartbeatMode::AppPing { .. } => {
                matches!(self.beat.ping_sent, Some(t) if now >= t.saturating_add(hb.timeout_ms))
            }
        };
        if dead {
            self.actions.push_back(Action::HeartbeatTimeout);
            self.actions.push_back(Action::Abort {
                code: HEARTBEAT_TIMEOUT_CODE,
                reason: "heartbeat timeout".into(),
            });
            self.link_lost(now);
            return;
        }
        if now >= self.beat.next_ping {
            // A ping still unanswered is not doubled; its timeout is what counts.
            if self.beat.ping_sent.is_none() {
                self.send_ping(now);
            }
            self.beat.next_ping = now.saturating_add(self.config.heartbeat.interval_ms.max(1));
        }
    }

    fn send_ping(&mut self, now: u64) {
        let action = match &self.config.heartbeat.mode {
            HeartbeatMode::ProtocolPing => Action::Ping,
            HeartbeatMode::AppPing { ping, .. } => Action::SendHeartbeat(ping.clone()),
            HeartbeatMode::Off | HeartbeatMode::ExpectTraffic => return,
        };
        self.beat.ping_sent = Some(now);
        self.actions.push_back(action);
    }

    /// The link (or attempt) is gone and policy says reconnect: schedule the next attempt.
    fn link_lost(&mut self, now: u64) {
        // A link that stayed up long enough proves the service works: start the backoff over.
        if self.state == State::Open && now.saturating_sub(self.since) >= self.config.min_uptime_ms
        {
            self.retries = 0;
        }
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
        for msg in self.queue.take() {
            self.actions.push_back(Action::Dropped {
                msg,
                reason: DropReason::Closed,
            });
        }
        self.actions.push_back(Action::Ended(why));
    }
}
