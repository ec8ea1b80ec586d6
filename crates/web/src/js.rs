//! `Link`: the one class the wasm module exports to JavaScript. It owns a [`Driver`] and reports
//! every output through a single callback `emit(kind, a, b)`; `js/reconnecting-websocket.js`
//! turns those into DOM events on a `WebSocket`-shaped `EventTarget` subclass. Building the
//! events in JS keeps the wasm and its generated glue small (the package's size budget).

use crate::driver::{Driver, Output};
use crate::options;
use ferrosocket_core::session::{EndReason, Message, SendError, State};
use js_sys::Function;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// `emit` kinds (mirrored in js/reconnecting-websocket.js).
mod kind {
    pub const CONNECTING: u8 = 0; // a = attempt
    pub const OPEN: u8 = 1;
    pub const MESSAGE: u8 = 2; // a = string | ArrayBuffer
    pub const CLOSE_CLEAN: u8 = 3; // a = code, b = reason
    pub const CLOSE_UNCLEAN: u8 = 4; // a = code, b = reason
    pub const ERROR: u8 = 5;
    pub const RECONNECTING: u8 = 6; // a = attempt, b = delay ms
    pub const PING: u8 = 7;
    pub const PONG: u8 = 8; // a = rtt ms
    pub const HEARTBEAT_TIMEOUT: u8 = 9;
    pub const DROPPED: u8 = 10; // a = data, b = reason
    pub const END: u8 = 11; // a = reason, b = close code or null
}

fn data_of(msg: &Message) -> JsValue {
    match msg {
        Message::Text(t) => t.into(),
        Message::Binary(b) => js_sys::Uint8Array::from(&b[..]).buffer().into(),
    }
}

fn emit(f: &Function, out: Output) {
    let n = |v: f64| JsValue::from_f64(v);
    let none = JsValue::UNDEFINED;
    let (k, a, b) = match out {
        Output::Connecting { attempt } => (kind::CONNECTING, n(attempt.into()), none),
        Output::Open => (kind::OPEN, none.clone(), none),
        Output::Message(data) => (kind::MESSAGE, data, none),
        Output::Close {
            code,
            reason,
            was_clean,
        } => {
            let k = if was_clean {
                kind::CLOSE_CLEAN
            } else {
                kind::CLOSE_UNCLEAN
            };
            (k, n(code.into()), reason.into())
        }
        Output::Error => (kind::ERROR, none.clone(), none),
        Output::Reconnecting {
            attempt, delay_ms, ..
        } => (kind::RECONNECTING, n(attempt.into()), n(delay_ms as f64)),
        Output::HeartbeatSent => (kind::PING, none.clone(), none),
        Output::HeartbeatReply { rtt } => (kind::PONG, n(rtt as f64), none),
        Output::HeartbeatTimeout => (kind::HEARTBEAT_TIMEOUT, none.clone(), none),
        Output::Dropped { msg, reason } => (kind::DROPPED, data_of(&msg), reason.as_str().into()),
        Output::Ended(why) => match why {
            EndReason::UserClose => (kind::END, "close".into(), JsValue::NULL),
            EndReason::MaxRetries => (kind::END, "max-retries".into(), JsValue::NULL),
            EndReason::CloseCode(c) => (kind::END, "close-code".into(), n(c.into())),
        },
    };
    let _ = f.call3(&JsValue::NULL, &k.into(), &a, &b);
}

#[wasm_bindgen]
pub struct Link {
    driver: Rc<Driver>,
}

#[wasm_bindgen]
impl Link {
    /// Starts connecting at once. `url(attempt)` returns a string, `protocols(attempt)` an
    /// array; `options` is the flattened numeric form (see options.rs); `ping`/`pong` are the
    /// app-level heartbeat messages (string or Uint8Array) when the heartbeat mode is 1.
    #[wasm_bindgen(constructor)]
    pub fn new(
        url: Function,
        protocols: Function,
        options: &[f64],
        ping: JsValue,
        pong: JsValue,
        emit_to: Function,
    ) -> Link {
        let driver = Driver::new(
            options::config(options, &ping, &pong),
            options::url(url),
            options::protocols(protocols),
            Box::new(move |out| emit(&emit_to, out)),
        );
        driver.start();
        Link { driver }
    }

    /// 0 sent or queued (or discarded after close, as browsers do), 1 queue full, 2 larger than
    /// the queue.
    #[wasm_bindgen(js_name = sendText)]
    pub fn send_text(&self, text: String) -> u8 {
        self.send(Message::Text(text))
    }

    /// Like [`Link::send_text`], for binary data.
    #[wasm_bindgen(js_name = sendBinary)]
    pub fn send_binary(&self, data: Vec<u8>) -> u8 {
        self.send(Message::Binary(data))
    }

    fn send(&self, msg: Message) -> u8 {
        match self.driver.send(msg) {
            Ok(()) | Err(SendError::Closed) => 0,
            Err(SendError::QueueFull) => 1,
            Err(SendError::TooLarge) => 2,
        }
    }

    pub fn close(&self, code: u16, reason: &str) {
        self.driver.close(code, reason)
    }

    pub fn reconnect(&self) {
        self.driver.reconnect()
    }

    /// `[state, retryCount, rtt, queueLength, queuedBytes, reconnectAt]`; state: 0 connecting,
    /// 1 open, 2 closing, 3 closed, 4 waiting (backoff); rtt and reconnectAt are -1 when unknown.
    pub fn status(&self) -> Vec<f64> {
        self.driver.with_session(|s| {
            let state = match s.state() {
                State::Idle | State::Connecting => 0.0,
                State::Open => 1.0,
                State::Closing => 2.0,
                State::Closed => 3.0,
                State::Waiting => 4.0,
            };
            vec![
                state,
                s.retry_count().into(),
                s.rtt().map_or(-1.0, |r| r as f64),
                s.queued_len() as f64,
                s.queued_bytes() as f64,
                s.reconnect_at().map_or(-1.0, |t| t as f64),
            ]
        })
    }

    /// The current browser socket (for `protocol`, `extensions`, `bufferedAmount`, `url`).
    pub fn socket(&self) -> Option<web_sys::WebSocket> {
        self.driver.socket()
    }
}
