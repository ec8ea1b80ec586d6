//! `Link`: the core [`Session`], its options until it starts, and the action being carried
//! out, behind operations keyed by number (see [`op`]). Bytes and strings go in and come out
//! through one buffer (`io`) that the JS side reads and writes in the wasm memory.

use ferrosocket_core::session::{
    wire, Action, DropReason, HeartbeatMode, Message, OptionValue, Options, Overflow, Received,
    SendError, Session,
};

/// Operation numbers (mirrored in crates/web/js/reconnecting-websocket.js). `num(op, now, n)`
/// takes and returns numbers; `put(op, now, n, bytes, text)` takes the input bytes (a UTF-8
/// string when `text`); `out(op)` writes a result into the buffer and returns its length.
pub mod op {
    /// put: ends the options and starts; the input is the 16-byte acknowledged-mode session id
    /// and 8 bytes of seed for the jitter (both from `crypto.getRandomValues`). 1 when an
    /// option was wrong (`out(ERROR)`).
    pub const START: u8 = 0;
    /// num: the socket reports CLOSING while the session thinks it open.
    pub const CLOSING: u8 = 1;
    /// num: the socket closed with code `n` (< 0 or 1006: no close frame).
    pub const CLOSED: u8 = 2;
    /// num: the user's `reconnect()`.
    pub const RECONNECT: u8 = 3;
    /// num: `online`, or the page became visible.
    pub const WAKE: u8 = 4;
    /// num: `offline`.
    pub const CHECK: u8 = 5;
    /// num: the timer fired.
    pub const TICK: u8 = 6;
    /// num: decides a send of `n` bytes before it is copied in: 0 go ahead, 1 discard (closed,
    /// as browsers do), 2 refuse (throw `out(REFUSAL)`), 3 drop as too large (`out(REFUSAL)`
    /// is the reason).
    pub const ADMIT: u8 = 7;
    /// num: when to call TICK, or -1.
    pub const DEADLINE: u8 = 8;
    /// num: takes the next action; its kind (0: none left, see `kind`).
    pub const NEXT: u8 = 9;
    /// num: the action's first number (attempt, close code; -1 none).
    pub const A: u8 = 10;
    /// num: the action's second number (reconnect delay).
    pub const B: u8 = 11;
    /// num: how many leading bytes of a binary message IN needs (and the longest text worth
    /// passing): a frame header, or the binary heartbeat reply and one byte more.
    pub const PEEK: u8 = 12;
    /// num: `readyState`, then retryCount, rtt (-1), queueLength, queuedBytes, reconnectAt (-1).
    pub const STATUS: u8 = 13;
    /// put: the socket opened with subprotocol (text) .
    pub const OPENED: u8 = 20;
    /// put: a text (pass "" when longer than PEEK) or binary (its first PEEK bytes) message
    /// arrived. 0: not for the application; 1: deliver as it is; 2: heartbeat reply; else
    /// deliver the payload from byte `r >> 1`, as text when `r & 1`.
    pub const IN: u8 = 21;
    /// put: the user sends (after ADMIT said 0).
    pub const SEND: u8 = 22;
    /// put: the user closes with code `n` and reason (text).
    pub const CLOSE: u8 = 23;
    /// out: the subprotocol to offer in acknowledged mode.
    pub const ACK: u8 = 30;
    /// out: close, drop or end reason of the action (the core's `as_str`).
    pub const REASON: u8 = 31;
    /// out: the message of the last refusal, or the drop reason.
    pub const REFUSAL: u8 = 32;
    /// out: the action's message when it is text (else none).
    pub const TEXT: u8 = 33;
    /// out: `connecting`, `open`, `closing`, `waiting`, `closed` (the core's `State::as_str`).
    pub const STATE: u8 = 34;
    /// out: why START failed.
    pub const ERROR: u8 = 35;
    /// out: the action's message when it is binary (else none).
    pub const DATA: u8 = 36;
}

/// Action kinds returned by NEXT (mirrored in crates/web/js/reconnecting-websocket.js).
mod kind {
    pub const CONNECT: u8 = 1; // a = attempt
    pub const SEND: u8 = 2; // out(TEXT) | out(DATA)
    pub const HEARTBEAT: u8 = 3; // out(TEXT) | out(DATA)
    pub const CLOSE: u8 = 4; // a = code, out(REASON)
    pub const ABORT: u8 = 5; // a = code, out(REASON)
    pub const RECONNECTING: u8 = 6; // a = attempt, b = delay ms
    pub const HEARTBEAT_TIMEOUT: u8 = 7;
    pub const DROPPED: u8 = 8; // out(TEXT) | out(DATA), out(REASON)
    pub const END: u8 = 9; // out(REASON), a = close code or -1
}

/// How an option value is laid out after the key in the input bytes (see [`Link::opt`]).
pub mod value {
    /// The number `n`.
    pub const NUMBER: u8 = 0;
    /// UTF-8 text.
    pub const TEXT: u8 = 1;
    /// Bytes.
    pub const BYTES: u8 = 2;
    /// Little-endian f64s.
    pub const NUMBERS: u8 = 3;
}

pub struct Link {
    options: Option<Options>,
    session: Option<Session>,
    action: Option<Action>,
    note: &'static str,
    /// The input of the next operation, or the output of the last `out`.
    pub io: Vec<u8>,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            options: Some(Options::new(false)),
            session: None,
            action: None,
            note: "",
            io: Vec::new(),
        }
    }
}

impl Link {
    /// Sets option `key` (the core's schema, `session::options`) from `input` (the key's
    /// `key_len` UTF-8 bytes, then the value laid out as [`value`] `kind` says, or `n`).
    /// The error message, if any.
    pub fn opt(&mut self, input: &[u8], key_len: usize, kind: u8, n: f64) -> Option<&'static str> {
        let (key, v) = input.split_at(key_len.min(input.len()));
        let key = std::str::from_utf8(key).unwrap_or_default();
        let numbers: Vec<f64>;
        let v = match kind {
            value::TEXT => OptionValue::Text(std::str::from_utf8(v).unwrap_or_default()),
            value::BYTES => OptionValue::Bytes(v),
            value::NUMBERS => {
                numbers = v.chunks_exact(8).map(f64_le).collect();
                OptionValue::Numbers(&numbers)
            }
            _ => OptionValue::Number(n),
        };
        self.options.as_mut()?.set(key, v).err()
    }

    /// Numeric operations, see [`op`].
    pub fn num(&mut self, op: u8, now: f64, n: f64) -> f64 {
        let t = now as u64;
        let Some(s) = self.session.as_mut() else {
            return -1.0;
        };
        match op {
            op::CLOSING => s.link_closing(t),
            op::CLOSED => s.closed(t, Some(n as u16).filter(|c| n >= 0.0 && *c != 1006)),
            op::RECONNECT => s.reconnect(t),
            op::WAKE => s.wake(t),
            op::CHECK => s.check(t),
            op::TICK => s.tick(t),
            op::ADMIT => return self.admit(n as usize).into(),
            op::DEADLINE => return s.next_deadline().map_or(-1.0, |d| d as f64),
            op::NEXT => return self.next().into(),
            op::A => return self.a(),
            op::B => match &self.action {
                Some(Action::Reconnecting { delay_ms, .. }) => return *delay_ms as f64,
                _ => return -1.0,
            },
            op::PEEK => {
                let pong = match &s.config().heartbeat.mode {
                    HeartbeatMode::AppPing { pong, .. } => pong.len() + 1,
                    _ => 0,
                };
                return pong.max(wire::HELLO_LEN) as f64;
            }
            _ => {
                return match op.wrapping_sub(op::STATUS) {
                    0 => s.state().ready_state().into(),
                    1 => s.retry_count().into(),
                    2 => s.rtt().map_or(-1.0, |r| r as f64),
                    3 => s.queued_len() as f64,
                    4 => s.queued_bytes() as f64,
                    _ => s.reconnect_at().map_or(-1.0, |t| t as f64),
                }
            }
        }
        0.0
    }

    /// Operations with bytes (`text`: they are a UTF-8 string), see [`op`].
    pub fn put(&mut self, op: u8, now: f64, n: f64, input: &[u8], text: bool) -> f64 {
        if op == op::START {
            return self.start(now, input);
        }
        let t = now as u64;
        let Some(s) = self.session.as_mut() else {
            return 0.0;
        };
        let str = || std::str::from_utf8(input).unwrap_or_default();
        match op {
            op::OPENED => s.opened(t, str()),
            op::IN => return received(s.received(t, input, text)),
            op::CLOSE => s.close(t, n as u16, str()),
            _ => {
                let msg = if text {
                    Message::Text(str().to_owned())
                } else {
                    Message::Binary(input.to_vec())
                };
                // Refusals were decided by ADMIT; nothing else can refuse here.
                let _ = s.send(t, msg);
            }
        }
        0.0
    }

    /// Results with bytes, see [`op`]: what to write into the buffer, or none.
    pub fn out(&self, op: u8) -> Option<&[u8]> {
        let s = match (op, &self.action) {
            (op::ACK, _) => self.session.as_ref()?.subprotocol()?,
            (op::STATE, _) => self
                .session
                .as_ref()
                .map_or("connecting", |s| s.state().as_str()),
            (op::REFUSAL | op::ERROR, _) => self.note,
            (op::TEXT, _) => match self.message()? {
                Message::Text(t) => t,
                Message::Binary(_) => return None,
            },
            (op::DATA, _) => match self.message()? {
                Message::Binary(b) => return Some(b),
                Message::Text(_) => return None,
            },
            (_, Some(Action::Close { reason, .. } | Action::Abort { reason, .. })) => reason,
            (_, Some(Action::Dropped { reason, .. })) => reason.as_str(),
            (_, Some(Action::Ended(why))) => why.as_str(),
            _ => "",
        };
        Some(s.as_bytes())
    }

    fn start(&mut self, now: f64, input: &[u8]) -> f64 {
        let Some(options) = self.options.take() else {
            return 0.0;
        };
        match options.finish() {
            Ok(config) => {
                let mut id = [0u8; 16];
                let mut seed = [0u8; 8];
                for (b, v) in id.iter_mut().chain(&mut seed).zip(input) {
                    *b = *v;
                }
                let mut s = Session::with_id(config, jitter(u64::from_le_bytes(seed)), id);
                s.start(now as u64);
                self.session = Some(s);
                0.0
            }
            Err(e) => {
                self.note = e;
                1.0
            }
        }
    }

    fn admit(&mut self, size: usize) -> u8 {
        let Some(s) = self.session.as_ref() else {
            return 1;
        };
        match s.check_send(size) {
            Err(SendError::Closed) => 1,
            Err(e) => {
                self.note = e.message();
                2
            }
            Ok(()) if s.too_large(size) && s.config().queue.overflow != Overflow::Error => {
                self.note = DropReason::TooLarge.as_str();
                3
            }
            Ok(()) => 0,
        }
    }

    fn next(&mut self) -> u8 {
        loop {
            self.action = self.session.as_mut().and_then(Session::poll_action);
            return match &self.action {
                None => 0,
                Some(Action::Connect { .. }) => kind::CONNECT,
                Some(Action::Send(_)) => kind::SEND,
                Some(Action::SendHeartbeat(_)) => kind::HEARTBEAT,
                Some(Action::Close { .. }) => kind::CLOSE,
                Some(Action::Abort { .. }) => kind::ABORT,
                Some(Action::Reconnecting { .. }) => kind::RECONNECTING,
                Some(Action::HeartbeatTimeout) => kind::HEARTBEAT_TIMEOUT,
                Some(Action::Dropped { .. }) => kind::DROPPED,
                Some(Action::Ended(_)) => kind::END,
                // Protocol pings: browsers cannot send them, and the options never select them.
                Some(_) => continue,
            };
        }
    }

    fn a(&self) -> f64 {
        match &self.action {
            Some(Action::Connect { attempt } | Action::Reconnecting { attempt, .. }) => {
                (*attempt).into()
            }
            Some(Action::Close { code, .. } | Action::Abort { code, .. }) => (*code).into(),
            Some(Action::Ended(why)) => why.code().map_or(-1.0, f64::from),
            _ => -1.0,
        }
    }

    fn message(&self) -> Option<&Message> {
        match &self.action {
            Some(Action::Send(m) | Action::SendHeartbeat(m) | Action::Dropped { msg: m, .. }) => {
                Some(m)
            }
            _ => None,
        }
    }
}

fn received(r: Received) -> f64 {
    match r {
        Received::Message => 1.0,
        Received::HeartbeatReply => 2.0,
        Received::Payload { offset, text } => ((offset << 1) | usize::from(text)) as f64,
        _ => 0.0,
    }
}

fn f64_le(b: &[u8]) -> f64 {
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(b) {
        *d = *s;
    }
    f64::from_le_bytes(a)
}

/// Reconnect jitter in `[0, 1)` from splitmix64 (Steele, Lea & Flood 2014) over a seed from
/// `crypto.getRandomValues`: spreading reconnects needs no more, and the module then imports
/// nothing from JS.
fn jitter(mut state: u64) -> ferrosocket_core::session::Random {
    Box::new(move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        // 53 random bits → an exactly representable fraction in [0, 1).
        (z >> 11) as f64 / (1u64 << 53) as f64
    })
}
