//! `Session`: the core's reconnecting heartbeat session (issue 4) for `npm/lib/reconnecting.js`.
//! A thin napi wrapper: time comes in as `now` (ms), actions go out as plain objects. Every
//! rule (backoff, heartbeat, queue, close policy) lives in `ferrosocket_core::session`.

use ferrosocket_core::session::{
    self as core, Action, Config, EndReason, Heartbeat, HeartbeatMode, Message, Overflow,
    SendError, State,
};
use napi::bindgen_prelude::{Buffer, Either};
use napi::{Error, Result, Status};
use napi_derive::napi;

/// Heartbeat options. `mode`: `"ping"` (protocol ping frames, the default in Node),
/// `"message"` (send `ping`, expect `pong`), `"traffic"` (expect any inbound traffic) or `"off"`.
#[napi(object)]
pub struct SessionHeartbeat {
    pub mode: Option<String>,
    pub interval: Option<f64>,
    pub timeout: Option<f64>,
    pub ping: Option<Either<String, Buffer>>,
    pub pong: Option<Either<String, Buffer>>,
}

/// Options, named like the browser package's (`pkg/README.md`).
#[napi(object)]
#[derive(Default)]
pub struct SessionOptions {
    pub min_delay: Option<f64>,
    pub max_delay: Option<f64>,
    pub grow_factor: Option<f64>,
    pub max_retries: Option<f64>,
    pub connection_timeout: Option<f64>,
    pub min_uptime: Option<f64>,
    pub heartbeat: Option<SessionHeartbeat>,
    pub max_queued_messages: Option<f64>,
    pub max_queued_bytes: Option<f64>,
    /// `"drop-oldest"` (default), `"drop-newest"` or `"error"`.
    pub overflow: Option<String>,
    pub reconnect_on_app_codes: Option<bool>,
    pub stop_codes: Option<Vec<u32>>,
}

/// One action for the JS driver. `kind`: `connect` (attempt), `send` (data), `ping`,
/// `heartbeat` (data), `close` (code, reason), `abort` (code, reason), `reconnecting`
/// (attempt, delay, at), `heartbeat-timeout`, `dropped` (data, reason), `end` (reason, code).
#[napi(object)]
pub struct SessionAction {
    pub kind: String,
    pub attempt: Option<u32>,
    pub data: Option<Either<String, Buffer>>,
    pub code: Option<u32>,
    pub reason: Option<String>,
    pub delay: Option<f64>,
    pub at: Option<f64>,
}

fn ms(v: Option<f64>, default: u64) -> u64 {
    v.filter(|n| *n >= 0.0 && n.is_finite())
        .map_or(default, |n| n as u64)
}

fn message(v: Either<String, Buffer>) -> Message {
    match v {
        Either::A(s) => Message::Text(s),
        Either::B(b) => Message::Binary(b.to_vec()),
    }
}

fn invalid(msg: &str) -> Error {
    Error::new(Status::InvalidArg, msg.to_owned())
}

fn config(o: SessionOptions) -> Result<Config> {
    let d = Config::default();
    let mut c = Config {
        min_delay_ms: ms(o.min_delay, d.min_delay_ms),
        max_delay_ms: ms(o.max_delay, d.max_delay_ms),
        growth_factor: o.grow_factor.unwrap_or(d.growth_factor),
        max_retries: o
            .max_retries
            .filter(|n| *n >= 0.0)
            .map(|n| n.min(u32::MAX as f64) as u32),
        connect_timeout_ms: ms(o.connection_timeout, d.connect_timeout_ms),
        min_uptime_ms: ms(o.min_uptime, d.min_uptime_ms),
        ..d
    };
    if let Some(h) = o.heartbeat {
        let mode = match (h.mode.as_deref(), h.ping, h.pong) {
            (Some("off"), ..) => HeartbeatMode::Off,
            (Some("traffic"), ..) => HeartbeatMode::ExpectTraffic,
            (Some("message") | None, Some(ping), Some(pong)) => HeartbeatMode::AppPing {
                ping: message(ping),
                pong: message(pong),
            },
            (Some("message"), ..) => {
                return Err(invalid("heartbeat mode 'message' needs ping and pong"))
            }
            (Some("ping") | None, ..) => HeartbeatMode::ProtocolPing,
            (Some(_), ..) => {
                return Err(invalid(
                    "heartbeat mode must be ping, message, traffic or off",
                ))
            }
        };
        c.heartbeat = Heartbeat {
            mode,
            interval_ms: ms(h.interval, c.heartbeat.interval_ms),
            timeout_ms: ms(h.timeout, c.heartbeat.timeout_ms),
        };
    }
    c.queue.max_messages = ms(o.max_queued_messages, c.queue.max_messages as u64) as usize;
    c.queue.max_bytes = ms(o.max_queued_bytes, c.queue.max_bytes as u64) as usize;
    c.queue.overflow = match o.overflow.as_deref() {
        None | Some("drop-oldest") => Overflow::DropOldest,
        Some("drop-newest") => Overflow::DropNewest,
        Some("error") => Overflow::Error,
        Some(_) => {
            return Err(invalid(
                "overflow must be drop-oldest, drop-newest or error",
            ))
        }
    };
    if let Some(b) = o.reconnect_on_app_codes {
        c.close_policy.reconnect_app_codes = b;
    }
    if let Some(codes) = o.stop_codes {
        c.close_policy.stop_codes = codes.into_iter().map(|c| c as u16).collect();
    }
    Ok(c)
}

fn data(msg: Message) -> Either<String, Buffer> {
    match msg {
        Message::Text(t) => Either::A(t),
        Message::Binary(b) => Either::B(b.into()),
    }
}

fn action(a: Action) -> SessionAction {
    let mut out = SessionAction {
        kind: String::new(), // set below
        attempt: None,
        data: None,
        code: None,
        reason: None,
        delay: None,
        at: None,
    };
    out.kind = match a {
        Action::Connect { attempt } => {
            out.attempt = Some(attempt);
            "connect"
        }
        Action::Send(m) => {
            out.data = Some(data(m));
            "send"
        }
        Action::Ping => "ping",
        Action::SendHeartbeat(m) => {
            out.data = Some(data(m));
            "heartbeat"
        }
        Action::Close { code, reason } => {
            out.code = Some(code.into());
            out.reason = Some(reason);
            "close"
        }
        Action::Abort { code, reason } => {
            out.code = Some(code.into());
            out.reason = Some(reason);
            "abort"
        }
        Action::Reconnecting {
            attempt,
            delay_ms,
            at,
        } => {
            out.attempt = Some(attempt);
            out.delay = Some(delay_ms as f64);
            out.at = Some(at as f64);
            "reconnecting"
        }
        Action::HeartbeatTimeout => "heartbeat-timeout",
        Action::Dropped { msg, reason } => {
            out.data = Some(data(msg));
            out.reason = Some(reason.as_str().to_owned());
            "dropped"
        }
        Action::Ended(why) => {
            let (reason, code) = match why {
                EndReason::UserClose => ("close", None),
                EndReason::MaxRetries => ("max-retries", None),
                EndReason::CloseCode(c) => ("close-code", Some(u32::from(c))),
            };
            out.reason = Some(reason.to_owned());
            out.code = code;
            "end"
        }
    }
    .to_owned();
    out
}

#[napi]
pub struct Session {
    inner: core::Session,
}

#[napi]
impl Session {
    #[napi(constructor)]
    pub fn new(options: Option<SessionOptions>) -> Result<Self> {
        Ok(Session {
            inner: core::Session::new(config(options.unwrap_or_default())?),
        })
    }

    #[napi]
    pub fn start(&mut self, now: f64) {
        self.inner.start(now as u64)
    }
    #[napi]
    pub fn opened(&mut self, now: f64) {
        self.inner.opened(now as u64)
    }
    /// `code` null/undefined = closed without a close frame (1006).
    #[napi]
    pub fn closed(&mut self, now: f64, code: Option<u32>) {
        self.inner.closed(now as u64, code.map(|c| c as u16))
    }
    /// A text message arrived; true = it is the heartbeat reply (do not deliver it).
    #[napi]
    pub fn text_received(&mut self, now: f64, text: String) -> bool {
        self.inner.text_received(now as u64, &text)
    }
    /// A binary message arrived; true = it is the heartbeat reply.
    #[napi]
    pub fn binary_received(&mut self, now: f64, data: Buffer) -> bool {
        self.inner.binary_received(now as u64, &data)
    }
    /// Inbound traffic whose content cannot be the heartbeat reply (no copy needed).
    #[napi]
    pub fn traffic(&mut self, now: f64) {
        self.inner.binary_received(now as u64, &[]);
    }
    #[napi]
    pub fn pong_received(&mut self, now: f64) {
        self.inner.pong_received(now as u64)
    }
    /// 0 sent or queued, 1 closed, 2 queue full, 3 larger than the queue.
    #[napi]
    pub fn send(&mut self, now: f64, data: Either<String, Buffer>) -> u32 {
        match self.inner.send(now as u64, message(data)) {
            Ok(()) => 0,
            Err(SendError::Closed) => 1,
            Err(SendError::QueueFull) => 2,
            Err(SendError::TooLarge) => 3,
        }
    }
    #[napi]
    pub fn close(&mut self, now: f64, code: u32, reason: String) {
        self.inner.close(now as u64, code as u16, &reason)
    }
    #[napi]
    pub fn reconnect(&mut self, now: f64) {
        self.inner.reconnect(now as u64)
    }
    #[napi]
    pub fn wake(&mut self, now: f64) {
        self.inner.wake(now as u64)
    }
    #[napi]
    pub fn check(&mut self, now: f64) {
        self.inner.check(now as u64)
    }
    #[napi]
    pub fn tick(&mut self, now: f64) {
        self.inner.tick(now as u64)
    }
    /// Every pending action, oldest first.
    #[napi]
    pub fn take_actions(&mut self) -> Vec<SessionAction> {
        std::iter::from_fn(|| self.inner.poll_action())
            .map(action)
            .collect()
    }
    #[napi]
    pub fn next_deadline(&self) -> Option<f64> {
        self.inner.next_deadline().map(|t| t as f64)
    }
    /// `connecting`, `open`, `closing`, `waiting`, `closed`.
    #[napi(getter)]
    pub fn state(&self) -> &'static str {
        match self.inner.state() {
            State::Idle | State::Connecting => "connecting",
            State::Open => "open",
            State::Closing => "closing",
            State::Waiting => "waiting",
            State::Closed => "closed",
        }
    }
    #[napi(getter)]
    pub fn retry_count(&self) -> u32 {
        self.inner.retry_count()
    }
    #[napi(getter)]
    pub fn rtt(&self) -> Option<f64> {
        self.inner.rtt().map(|r| r as f64)
    }
    #[napi(getter)]
    pub fn queue_length(&self) -> u32 {
        self.inner.queued_len() as u32
    }
    #[napi(getter)]
    pub fn queued_bytes(&self) -> f64 {
        self.inner.queued_bytes() as f64
    }
    #[napi(getter)]
    pub fn reconnect_at(&self) -> Option<f64> {
        self.inner.reconnect_at().map(|t| t as f64)
    }
}
