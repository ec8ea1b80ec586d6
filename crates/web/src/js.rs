//! `Link`: the one class the wasm module exports to JavaScript — the core [`Session`] and
//! nothing else. `js/reconnecting-websocket.js` owns the browser `WebSocket` and the one timer,
//! reports what happened with the time, and carries out the actions it drains with
//! [`op::NEXT`]; every decision stays in the session. Only numbers, strings and byte arrays
//! cross the boundary (no closures, no JS objects), through five methods keyed by an operation
//! number: every exported method costs wasm and generated glue, and the package's size budget
//! is 15,000 bytes gzipped.

use ferrosocket_core::session::{
    wire, Action, DropReason, HeartbeatMode, Message, OptionValue, Options, Overflow, Received,
    SendError, Session,
};
use wasm_bindgen::prelude::*;

/// Operation numbers (mirrored in js/reconnecting-websocket.js). `num(op, now, n)` takes and
/// returns numbers; `put(op, now, n, s)` takes a string; `bin(op, now, b)` takes bytes;
/// `text(op)` returns a string; `data()` the action's bytes.
pub mod op {
    /// num: ends the options, starts; 1 when an option was wrong (`text(ERROR)`).
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
    /// as browsers do), 2 refuse (throw `text(REFUSAL)`), 3 drop as too large (`text(REFUSAL)`
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
    /// num: how many leading bytes of a binary message BYTES_IN needs (and the longest text
    /// worth passing): a frame header, or the binary heartbeat reply and one byte more.
    pub const PEEK: u8 = 12;
    /// num: `readyState`, then retryCount, rtt (-1), queueLength, queuedBytes, reconnectAt (-1).
    pub const STATUS: u8 = 13;
    /// put: the socket opened with subprotocol `s`.
    pub const OPENED: u8 = 20;
    /// put/bin: a text (pass "" when longer than PEEK) or binary (its first PEEK bytes) message
    /// arrived. 0: not for the application; 1: deliver as it is; 2: heartbeat reply; else
    /// deliver the payload from byte `r >> 1`, as text when `r & 1`.
    pub const IN: u8 = 21;
    /// put/bin: the user sends (after ADMIT said 0).
    pub const SEND: u8 = 22;
    /// put: the user closes with code `n` and reason `s`.
    pub const CLOSE: u8 = 23;
    /// text: the subprotocol to offer in acknowledged mode.
    pub const ACK: u8 = 30;
    /// text: close, drop or end reason of the action (the core's `as_str`).
    pub const REASON: u8 = 31;
    /// text: the message of the last refusal, or the drop reason.
    pub const REFUSAL: u8 = 32;
    /// text: the action's message when it is text.
    pub const TEXT: u8 = 33;
    /// text: `connecting`, `open`, `closing`, `waiting`, `closed` (the core's `State::as_str`).
    pub const STATE: u8 = 34;
    /// text: why START failed.
    pub const ERROR: u8 = 35;
}

/// Action kinds returned by NEXT (mirrored in js/reconnecting-websocket.js).
mod kind {
    pub const CONNECT: u8 = 1; // a = attempt
    pub const SEND: u8 = 2; // text(TEXT) | data()
    pub const HEARTBEAT: u8 = 3; // text(TEXT) | data()
    pub const CLOSE: u8 = 4; // a = code, text(REASON)
    pub const ABORT: u8 = 5; // a = code, text(REASON)
    pub const RECONNECTING: u8 = 6; // a = attempt, b = delay ms
    pub const HEARTBEAT_TIMEOUT: u8 = 7;
    pub const DROPPED: u8 = 8; // text(TEXT) | data(), text(REASON)
    pub const END: u8 = 9; // text(REASON), a = close code or -1
}

/// The session, its options until it starts, and the action being carried out.
#[wasm_bindgen]
pub struct Link {
    options: Option<Options>,
    session: Option<Session>,
    action: Option<Action>,
    id: [u8; 16],
    note: &'static str,
}

#[wasm_bindgen]
impl Link {
    /// `id`: 16 bytes from `crypto.getRandomValues`, the acknowledged-mode session id.
    #[wasm_bindgen(constructor)]
    pub fn new(id: &[u8]) -> Link {
        let mut bytes = [0u8; 16];
        for (b, v) in bytes.iter_mut().zip(id) {
            *b = *v;
        }
        Link {
            options: Some(Options::new(false)),
            session: None,
            action: None,
            id: bytes,
            note: "",
        }
    }

    /// Sets option `key` (the core's schema, `session::options`) to the one value given:
    /// `s`, else `b`, else `list`, else `n`. Returns the error message.
    pub fn opt(
        &mut self,
        key: &str,
        n: f64,
        s: Option<String>,
        b: Option<Vec<u8>>,
        list: Option<Vec<f64>>,
    ) -> Option<String> {
        let v = match (&s, &b, &list) {
            (Some(s), ..) => OptionValue::Text(s),
            (_, Some(b), _) => OptionValue::Bytes(b),
            (.., Some(l)) => OptionValue::Numbers(l),
            _ => OptionValue::Number(n),
        };
        let o = self.options.as_mut()?;
        o.set(key, v).err().map(str::to_owned)
    }

    /// Numeric operations, see [`op`].
    pub fn num(&mut self, op: u8, now: f64, n: f64) -> f64 {
        if op == op::START {
            return self.start(now);
        }
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

    /// Operations with a string, see [`op`].
    pub fn put(&mut self, op: u8, now: f64, n: f64, text: String) -> f64 {
        let t = now as u64;
        let Some(s) = self.session.as_mut() else {
            return 0.0;
        };
        match op {
            op::OPENED => s.opened(t, &text),
            op::IN => return received(s.received(t, text.as_bytes(), true)),
            op::CLOSE => s.close(t, n as u16, &text),
            _ => {
                // Refusals were decided by ADMIT; nothing else can refuse here.
                let _ = s.send(t, Message::Text(text));
            }
        }
        0.0
    }

    /// Operations with bytes, see [`op`].
    pub fn bin(&mut self, op: u8, now: f64, data: Vec<u8>) -> f64 {
        let t = now as u64;
        let Some(s) = self.session.as_mut() else {
            return 0.0;
        };
        if op == op::IN {
            return received(s.received(t, &data, false));
        }
        let _ = s.send(t, Message::Binary(data));
        0.0
    }

    /// String results, see [`op`].
    pub fn text(&self, op: u8) -> Option<String> {
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
            (_, Some(Action::Close { reason, .. } | Action::Abort { reason, .. })) => reason,
            (_, Some(Action::Dropped { reason, .. })) => reason.as_str(),
            (_, Some(Action::Ended(why))) => why.as_str(),
            _ => "",
        };
        Some(s.to_owned())
    }

    /// The action's message when it is binary.
    pub fn data(&self) -> Option<Vec<u8>> {
        match self.message()? {
            Message::Binary(b) => Some(b.clone()),
            Message::Text(_) => None,
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

impl Link {
    fn start(&mut self, now: f64) -> f64 {
        let Some(options) = self.options.take() else {
            return 0.0;
        };
        match options.finish() {
            Ok(config) => {
                let random = Box::new(js_sys::Math::random);
                let mut s = Session::with_id(config, random, self.id);
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
