//! `ReconnectingWebSocket`: the JS class of `pkg/`, shaped like the browser `WebSocket`
//! (WHATWG HTML "WebSockets") plus `reconnect()`, retry/heartbeat/queue state and extra events:
//! `connecting`, `reconnecting`, `ping`, `pong`, `heartbeattimeout`, `dropped`, `end`
//! (CustomEvents; the data is in `event.detail`).

use crate::driver::{Driver, Output};
use crate::options;
use ferrosocket_core::session::{EndReason, Message, SendError, State};
use js_sys::{Function, Object, Reflect};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    CloseEvent, CloseEventInit, CustomEvent, CustomEventInit, Event, EventTarget, MessageEvent,
    MessageEventInit,
};

/// What the event listener side needs; shared with the driver's output callback.
#[derive(Default)]
struct Shared {
    target: Option<EventTarget>,
    /// onopen, onmessage, onclose, onerror
    handlers: RefCell<[Option<Function>; 4]>,
    blob: Cell<bool>,
}

const KINDS: [&str; 4] = ["open", "message", "close", "error"];

fn obj(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

fn custom(kind: &str, detail: JsValue) -> Result<Event, JsValue> {
    let init = CustomEventInit::new();
    init.set_detail(&detail);
    Ok(CustomEvent::new_with_event_init_dict(kind, &init)?.into())
}

fn data_of(msg: &Message) -> JsValue {
    match msg {
        Message::Text(t) => t.into(),
        Message::Binary(b) => js_sys::Uint8Array::from(&b[..]).buffer().into(),
    }
}

impl Shared {
    fn event(&self, out: Output) -> Result<Event, JsValue> {
        Ok(match out {
            Output::Open => Event::new("open")?,
            Output::Error => Event::new("error")?,
            Output::Message(mut data) => {
                if self.blob.get() && !data.is_string() {
                    let parts = js_sys::Array::of1(&data);
                    data = web_sys::Blob::new_with_buffer_source_sequence(&parts)?.into();
                }
                let init = MessageEventInit::new();
                init.set_data(&data);
                MessageEvent::new_with_event_init_dict("message", &init)?.into()
            }
            Output::Close {
                code,
                reason,
                was_clean,
            } => {
                let init = CloseEventInit::new();
                init.set_code(code);
                init.set_reason(&reason);
                init.set_was_clean(was_clean);
                CloseEvent::new_with_event_init_dict("close", &init)?.into()
            }
            Output::Connecting { attempt } => {
                custom("connecting", obj(&[("attempt", attempt.into())]))?
            }
            Output::Reconnecting {
                attempt,
                delay_ms,
                at,
            } => custom(
                "reconnecting",
                obj(&[
                    ("attempt", attempt.into()),
                    ("delay", (delay_ms as f64).into()),
                    ("at", (at as f64).into()),
                ]),
            )?,
            Output::HeartbeatSent => custom("ping", JsValue::NULL)?,
            Output::HeartbeatReply { rtt } => custom("pong", obj(&[("rtt", (rtt as f64).into())]))?,
            Output::HeartbeatTimeout => custom("heartbeattimeout", JsValue::NULL)?,
            Output::Dropped { msg, reason } => custom(
                "dropped",
                obj(&[("data", data_of(&msg)), ("reason", reason.as_str().into())]),
            )?,
            Output::Ended(why) => {
                let (reason, code) = match why {
                    EndReason::UserClose => ("close", JsValue::NULL),
                    EndReason::MaxRetries => ("max-retries", JsValue::NULL),
                    EndReason::CloseCode(c) => ("close-code", c.into()),
                };
                custom("end", obj(&[("reason", reason.into()), ("code", code)]))?
            }
        })
    }

    fn dispatch(&self, out: Output) {
        let Ok(ev) = self.event(out) else { return };
        let kind = ev.type_();
        let handler = KINDS
            .iter()
            .position(|k| *k == kind)
            .and_then(|n| self.handlers.borrow()[n].clone());
        if let Some(h) = handler {
            let _ = h.call1(&JsValue::NULL, &ev);
        }
        if let Some(t) = &self.target {
            let _ = t.dispatch_event(&ev);
        }
    }
}

#[wasm_bindgen]
pub struct ReconnectingWebSocket {
    driver: Rc<Driver>,
    shared: Rc<Shared>,
    url: String,
}

#[wasm_bindgen]
impl ReconnectingWebSocket {
    /// `new ReconnectingWebSocket(url, protocols?, options?)`. `url` and `protocols` may be
    /// functions of the attempt number. Options: `minDelay`, `maxDelay`, `growFactor`,
    /// `maxRetries`, `connectionTimeout`, `minUptime`, `heartbeat: {interval, timeout, ping?,
    /// pong?}`, `maxQueuedMessages`, `maxQueuedBytes`, `overflow`, `reconnectOnAppCodes`,
    /// `stopCodes`, `binaryType`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        url: JsValue,
        protocols: JsValue,
        options: JsValue,
    ) -> Result<ReconnectingWebSocket, JsValue> {
        let config = options::config(&options)?;
        let shown_url = url.as_string().unwrap_or_default();
        let shared = Rc::new(Shared {
            target: Some(EventTarget::new()?),
            ..Shared::default()
        });
        shared.blob.set(
            Reflect::get(&options, &"binaryType".into())
                .ok()
                .and_then(|v| v.as_string())
                .as_deref()
                != Some("arraybuffer"),
        );
        let sink = shared.clone();
        let driver = Driver::new(
            config,
            options::url(url)?,
            options::protocols(protocols)?,
            Box::new(move |out| sink.dispatch(out)),
        );
        driver.start();
        Ok(ReconnectingWebSocket {
            driver,
            shared,
            url: shown_url,
        })
    }

    // readyState constants, on the class and on instances.
    #[wasm_bindgen(getter = CONNECTING)]
    pub fn connecting(&self) -> u16 {
        0
    }
    #[wasm_bindgen(getter = OPEN)]
    pub fn open(&self) -> u16 {
        1
    }
    #[wasm_bindgen(getter = CLOSING)]
    pub fn closing(&self) -> u16 {
        2
    }
    #[wasm_bindgen(getter = CLOSED)]
    pub fn closed(&self) -> u16 {
        3
    }

    #[wasm_bindgen(getter = readyState)]
    pub fn ready_state(&self) -> u16 {
        self.driver.state().ready_state()
    }
    /// The URL given (or the current socket's URL when `url` is a function).
    #[wasm_bindgen(getter)]
    pub fn url(&self) -> String {
        match self.driver.socket() {
            Some(ws) if self.url.is_empty() => ws.url(),
            _ => self.url.clone(),
        }
    }
    #[wasm_bindgen(getter)]
    pub fn protocol(&self) -> String {
        self.driver
            .socket()
            .map(|ws| ws.protocol())
            .unwrap_or_default()
    }
    #[wasm_bindgen(getter)]
    pub fn extensions(&self) -> String {
        self.driver
            .socket()
            .map(|ws| ws.extensions())
            .unwrap_or_default()
    }
    #[wasm_bindgen(getter = binaryType)]
    pub fn binary_type(&self) -> String {
        if self.shared.blob.get() {
            "blob"
        } else {
            "arraybuffer"
        }
        .into()
    }
    #[wasm_bindgen(setter = binaryType)]
    pub fn set_binary_type(&self, t: String) {
        match t.as_str() {
            "blob" => self.shared.blob.set(true),
            "arraybuffer" => self.shared.blob.set(false),
            _ => {} // ignored, like the browser's WebSocket
        }
    }
    /// Bytes handed to the socket but not yet sent, plus bytes waiting in the offline queue.
    #[wasm_bindgen(getter = bufferedAmount)]
    pub fn buffered_amount(&self) -> f64 {
        let socket = self.driver.socket().map_or(0, |ws| ws.buffered_amount());
        socket as f64 + self.driver.with_session(|s| s.queued_bytes()) as f64
    }
    /// Failed attempts since the last stable link.
    #[wasm_bindgen(getter = retryCount)]
    pub fn retry_count(&self) -> u32 {
        self.driver.with_session(|s| s.retry_count())
    }
    /// Last heartbeat round-trip time in ms, or `undefined` before the first reply.
    #[wasm_bindgen(getter)]
    pub fn rtt(&self) -> Option<f64> {
        self.driver.with_session(|s| s.rtt()).map(|r| r as f64)
    }
    #[wasm_bindgen(getter = queueLength)]
    pub fn queue_length(&self) -> u32 {
        self.driver.with_session(|s| s.queued_len()) as u32
    }
    /// When the next attempt starts (ms since the epoch, like `Date.now()`), while waiting.
    #[wasm_bindgen(getter = reconnectAt)]
    pub fn reconnect_at(&self) -> Option<f64> {
        self.driver
            .with_session(|s| s.reconnect_at())
            .map(|t| t as f64)
    }
    /// `connecting`, `open`, `closing`, `waiting` (backoff), `closed`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        match self.driver.state() {
            State::Idle | State::Connecting => "connecting",
            State::Open => "open",
            State::Closing => "closing",
            State::Waiting => "waiting",
            State::Closed => "closed",
        }
        .into()
    }

    /// Sends now when open, queues otherwise. Strings go as text; ArrayBuffer and views as binary.
    pub fn send(&self, data: JsValue) -> Result<(), JsValue> {
        let msg = match data.as_string() {
            Some(s) => Message::Text(s),
            None => Message::Binary(options::bytes(&data).ok_or_else(|| {
                JsValue::from(js_sys::TypeError::new(
                    "send() takes a string, an ArrayBuffer or a view",
                ))
            })?),
        };
        match self.driver.send(msg) {
            // The browser's WebSocket silently discards data sent after close().
            Ok(()) | Err(SendError::Closed) => Ok(()),
            Err(SendError::QueueFull) => Err(js_sys::Error::new("offline queue is full").into()),
            Err(SendError::TooLarge) => {
                Err(js_sys::Error::new("message is larger than the offline queue").into())
            }
        }
    }

    /// Closes for good: no reconnect afterwards. `code` must be 1000 or 3000–4999 (as in browsers).
    pub fn close(&self, code: Option<u16>, reason: Option<String>) -> Result<(), JsValue> {
        let code = code.unwrap_or(1000);
        if code != 1000 && !(3000..=4999).contains(&code) {
            return Err(web_sys::DomException::new_with_message_and_name(
                "close code must be 1000 or in 3000-4999",
                "InvalidAccessError",
            )?
            .into());
        }
        self.driver.close(code, reason.as_deref().unwrap_or(""));
        Ok(())
    }

    /// Drops the current link (if any) and connects again at once, with the backoff reset.
    pub fn reconnect(&self) {
        self.driver.reconnect();
    }

    #[wasm_bindgen(js_name = addEventListener)]
    pub fn add_event_listener(
        &self,
        kind: &str,
        listener: &JsValue,
        options: &JsValue,
    ) -> Result<(), JsValue> {
        let t = self.target();
        if options.is_undefined() {
            t.add_event_listener_with_callback(kind, listener.unchecked_ref())
        } else {
            let add: Function = Reflect::get(t, &"addEventListener".into())?.dyn_into()?;
            add.call3(t, &kind.into(), listener, options).map(drop)
        }
    }
    #[wasm_bindgen(js_name = removeEventListener)]
    pub fn remove_event_listener(&self, kind: &str, listener: &JsValue) -> Result<(), JsValue> {
        self.target()
            .remove_event_listener_with_callback(kind, listener.unchecked_ref())
    }
    #[wasm_bindgen(js_name = dispatchEvent)]
    pub fn dispatch_event(&self, event: &Event) -> Result<bool, JsValue> {
        self.target().dispatch_event(event)
    }

    #[wasm_bindgen(getter)]
    pub fn onopen(&self) -> Option<Function> {
        self.handler(0)
    }
    #[wasm_bindgen(setter)]
    pub fn set_onopen(&self, f: Option<Function>) {
        self.set_handler(0, f)
    }
    #[wasm_bindgen(getter)]
    pub fn onmessage(&self) -> Option<Function> {
        self.handler(1)
    }
    #[wasm_bindgen(setter)]
    pub fn set_onmessage(&self, f: Option<Function>) {
        self.set_handler(1, f)
    }
    #[wasm_bindgen(getter)]
    pub fn onclose(&self) -> Option<Function> {
        self.handler(2)
    }
    #[wasm_bindgen(setter)]
    pub fn set_onclose(&self, f: Option<Function>) {
        self.set_handler(2, f)
    }
    #[wasm_bindgen(getter)]
    pub fn onerror(&self) -> Option<Function> {
        self.handler(3)
    }
    #[wasm_bindgen(setter)]
    pub fn set_onerror(&self, f: Option<Function>) {
        self.set_handler(3, f)
    }
}

impl ReconnectingWebSocket {
    fn target(&self) -> &EventTarget {
        self.shared
            .target
            .as_ref()
            .expect("created in the constructor")
    }
    fn handler(&self, n: usize) -> Option<Function> {
        self.shared.handlers.borrow()[n].clone()
    }
    fn set_handler(&self, n: usize, f: Option<Function>) {
        self.shared.handlers.borrow_mut()[n] = f;
    }
}
