//! `Session`: the core's reconnecting heartbeat session for `npm/lib/reconnecting.js`.
//! A thin napi wrapper: options go in by name (the core's schema, `session::options`), time
//! comes in as `now` (ms), actions go out as plain objects. Every rule (backoff, heartbeat,
//! queue, close policy, acknowledged delivery) lives in `ferrosocket_core::session`.

use ferrosocket_core::session::{self as core, wire, Action, OptionValue, Options, Received};
use napi::bindgen_prelude::{Buffer, Either, Either5};
use napi::{Error, Result, Status};
use napi_derive::napi;

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

fn message(v: Either<String, Buffer>) -> core::Message {
    match v {
        Either::A(s) => core::Message::Text(s),
        Either::B(b) => core::Message::Binary(b.to_vec()),
    }
}

fn data(msg: core::Message) -> Either<String, Buffer> {
    match msg {
        core::Message::Text(t) => Either::A(t),
        core::Message::Binary(b) => Either::B(b.into()),
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
            out.reason = Some(why.as_str().to_owned());
            out.code = why.code().map(u32::from);
            "end"
        }
        _ => "",
    }
    .to_owned();
    out
}

/// An option value as JS has it.
type JsOption = Either5<f64, bool, String, Buffer, Vec<f64>>;

/// Collects options (by name, see the core's `session::options`), then runs the session.
#[napi]
pub struct Session {
    options: Option<Options>,
    inner: Option<core::Session>,
}

fn not_started() -> Error {
    Error::new(Status::GenericFailure, "session not started".to_owned())
}

#[napi]
impl Session {
    #[napi(constructor)]
    pub fn new() -> Self {
        Session {
            options: Some(Options::new(true)),
            inner: None,
        }
    }

    /// Sets option `key` (flattened: `heartbeat.interval`); throws with the core's message.
    #[napi]
    pub fn option(&mut self, key: String, value: JsOption) -> Result<()> {
        let o = self.options.as_mut().ok_or_else(not_started)?;
        let v = match &value {
            Either5::A(n) => OptionValue::Number(*n),
            Either5::B(b) => OptionValue::Bool(*b),
            Either5::C(s) => OptionValue::Text(s),
            Either5::D(b) => OptionValue::Bytes(b),
            Either5::E(list) => OptionValue::Numbers(list),
        };
        o.set(&key, v)
            .map_err(|m| Error::new(Status::InvalidArg, m.to_owned()))
    }

    /// Ends the options and starts the first attempt.
    #[napi]
    pub fn start(&mut self, now: f64) -> Result<()> {
        let options = self.options.take().ok_or_else(not_started)?;
        let config = options
            .finish()
            .map_err(|m| Error::new(Status::InvalidArg, m.to_owned()))?;
        let mut s = core::Session::new(config);
        s.start(now as u64);
        self.inner = Some(s);
        Ok(())
    }

    fn s(&mut self) -> Result<&mut core::Session> {
        self.inner.as_mut().ok_or_else(not_started)
    }

    /// The subprotocol to offer (acknowledged mode), or null.
    #[napi(getter)]
    pub fn subprotocol(&self) -> Option<&'static str> {
        self.inner.as_ref().and_then(|s| s.subprotocol())
    }
    #[napi]
    pub fn opened(&mut self, now: f64, protocol: String) -> Result<()> {
        self.s()?.opened(now as u64, &protocol);
        Ok(())
    }
    /// The socket is closing on its own (the peer's close frame arrived).
    #[napi]
    pub fn link_closing(&mut self, now: f64) -> Result<()> {
        self.s()?.link_closing(now as u64);
        Ok(())
    }
    /// `code` null/undefined = closed without a close frame (1006).
    #[napi]
    pub fn closed(&mut self, now: f64, code: Option<u32>) -> Result<()> {
        self.s()?.closed(now as u64, code.map(|c| c as u16));
        Ok(())
    }
    /// A message arrived. 0: not for the application; 1: deliver it as it is; 2: the heartbeat
    /// reply; otherwise deliver `data.subarray(n >> 1)`, as text when `n & 1`.
    #[napi]
    pub fn received(&mut self, now: f64, data: Either<String, Buffer>) -> Result<u32> {
        let s = self.s()?;
        let r = match &data {
            Either::A(t) => s.received(now as u64, t.as_bytes(), true),
            Either::B(b) => s.received(now as u64, b, false),
        };
        Ok(match r {
            Received::Message => 1,
            Received::HeartbeatReply => 2,
            Received::Payload { offset, text } => (offset as u32) << 1 | u32::from(text),
            _ => 0,
        })
    }
    #[napi]
    pub fn pong_received(&mut self, now: f64) -> Result<()> {
        self.s()?.pong_received(now as u64);
        Ok(())
    }
    /// `null` when sent or queued, else the refusal (`closed`, `queue-full`, `too-large`)
    /// and its message.
    #[napi]
    pub fn send(
        &mut self,
        now: f64,
        data: Either<String, Buffer>,
    ) -> Result<Option<Vec<&'static str>>> {
        Ok(match self.s()?.send(now as u64, message(data)) {
            Ok(()) => None,
            Err(e) => Some(vec![e.as_str(), e.message()]),
        })
    }
    #[napi]
    pub fn close(&mut self, now: f64, code: u32, reason: String) -> Result<()> {
        self.s()?.close(now as u64, code as u16, &reason);
        Ok(())
    }
    #[napi]
    pub fn reconnect(&mut self, now: f64) -> Result<()> {
        self.s()?.reconnect(now as u64);
        Ok(())
    }
    #[napi]
    pub fn wake(&mut self, now: f64) -> Result<()> {
        self.s()?.wake(now as u64);
        Ok(())
    }
    #[napi]
    pub fn tick(&mut self, now: f64) -> Result<()> {
        self.s()?.tick(now as u64);
        Ok(())
    }
    /// Every pending action, oldest first.
    #[napi]
    pub fn take_actions(&mut self) -> Result<Vec<SessionAction>> {
        let s = self.s()?;
        Ok(std::iter::from_fn(|| s.poll_action()).map(action).collect())
    }
    #[napi]
    pub fn next_deadline(&self) -> Option<f64> {
        self.inner
            .as_ref()
            .and_then(|s| s.next_deadline())
            .map(|t| t as f64)
    }
    /// `connecting`, `open`, `closing`, `waiting`, `closed`.
    #[napi(getter)]
    pub fn state(&self) -> &'static str {
        self.inner
            .as_ref()
            .map_or("connecting", |s| s.state().as_str())
    }
    /// The browser `readyState` number of the state.
    #[napi(getter)]
    pub fn ready_state(&self) -> u32 {
        self.inner
            .as_ref()
            .map_or(0, |s| s.state().ready_state().into())
    }
    #[napi(getter)]
    pub fn retry_count(&self) -> u32 {
        self.inner.as_ref().map_or(0, |s| s.retry_count())
    }
    #[napi(getter)]
    pub fn rtt(&self) -> Option<f64> {
        self.inner.as_ref().and_then(|s| s.rtt()).map(|r| r as f64)
    }
    #[napi(getter)]
    pub fn queue_length(&self) -> u32 {
        self.inner.as_ref().map_or(0, |s| s.queued_len() as u32)
    }
    #[napi(getter)]
    pub fn queued_bytes(&self) -> f64 {
        self.inner.as_ref().map_or(0.0, |s| s.queued_bytes() as f64)
    }
    #[napi(getter)]
    pub fn reconnect_at(&self) -> Option<f64> {
        self.inner
            .as_ref()
            .and_then(|s| s.reconnect_at())
            .map(|t| t as f64)
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// The acknowledged-delivery subprotocol name (`session::wire::SUBPROTOCOL`), for the server
/// half in npm/lib/ack-server.js.
#[napi]
#[cfg_attr(test, allow(dead_code))] // used from JS only
pub const ACK_SUBPROTOCOL: &str = wire::SUBPROTOCOL;
