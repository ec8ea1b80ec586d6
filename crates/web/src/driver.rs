//! Drives a core `Session` with a browser `WebSocket`, one timer and wake-up events, for the
//! Rust `Stream`/`Sink` API (the JS class of `pkg/` drives the session from JS instead, see
//! js.rs). It carries out the session's actions and reports what happened; it decides nothing.

use crate::sys;
use ferrosocket_core::session::{
    wire, Action, Config, DropReason, EndReason, HeartbeatMode, Message, Received, SendError,
    Session, State,
};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// URL provider, called with the attempt number before each connection attempt.
pub type UrlFn = Box<dyn FnMut(u32) -> Result<String, JsValue>>;
/// Subprotocol provider, called like [`UrlFn`].
pub type ProtocolsFn = Box<dyn FnMut(u32) -> Result<Vec<String>, JsValue>>;

/// What the driver reports, in order, to its owner (the JS class or the Rust stream).
#[derive(Debug)]
pub enum Output {
    Connecting {
        attempt: u32,
    },
    Open,
    /// A JS string or an `ArrayBuffer`.
    Message(JsValue),
    Close {
        code: u16,
        reason: String,
        was_clean: bool,
    },
    Error,
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
        at: u64,
    },
    HeartbeatSent,
    HeartbeatReply {
        rtt: u64,
    },
    HeartbeatTimeout,
    Dropped {
        msg: Message,
        reason: DropReason,
    },
    Ended(EndReason),
}

type Cb<T> = Closure<dyn FnMut(T)>;

struct Callbacks {
    open: Cb<Event>,
    message: Cb<Event>,
    close: Cb<Event>,
    error: Cb<Event>,
    timer: Closure<dyn FnMut()>,
    wake: Cb<Event>,
}

struct Inner {
    session: Session,
    url: UrlFn,
    protocols: ProtocolsFn,
    ws: Option<WebSocket>,
    timer: Option<JsValue>,
    out: Vec<Output>,
    listening: bool,
}

pub struct Driver {
    inner: RefCell<Inner>,
    cb: Callbacks,
    emit: Box<dyn Fn(Output)>,
}

fn cb(me: &Weak<Driver>, f: fn(&Driver, Event)) -> Cb<Event> {
    let me = me.clone();
    Closure::new(move |e: Event| {
        if let Some(d) = me.upgrade() {
            f(&d, e)
        }
    })
}

impl Driver {
    pub fn new(
        config: Config,
        url: UrlFn,
        protocols: ProtocolsFn,
        emit: Box<dyn Fn(Output)>,
    ) -> Rc<Self> {
        Rc::new_cyclic(|me: &Weak<Driver>| {
            let m = me.clone();
            Driver {
                inner: RefCell::new(Inner {
                    session: Session::with_random(config, sys::random()),
                    url,
                    protocols,
                    ws: None,
                    timer: None,
                    out: Vec::new(),
                    listening: false,
                }),
                cb: Callbacks {
                    open: cb(me, Driver::on_open),
                    message: cb(me, Driver::on_message),
                    close: cb(me, Driver::on_close),
                    error: cb(me, Driver::on_error),
                    timer: Closure::new(move || {
                        if let Some(d) = m.upgrade() {
                            d.run(|i, now| {
                                i.timer = None;
                                i.session.tick(now)
                            })
                        }
                    }),
                    wake: cb(me, Driver::on_wake),
                },
                emit,
            }
        })
    }

    /// Listens for wake-ups and starts the first attempt.
    pub fn start(&self) {
        self.listen_wakeups();
        self.run(|i, now| i.session.start(now));
    }

    // ---- user calls ----

    pub fn send(&self, msg: Message) -> Result<(), SendError> {
        let mut msg = Some(msg);
        let mut res = Ok(());
        self.run(|i, now| {
            // The peer's close frame makes the socket CLOSING before its close event: what is
            // sent from then on must wait for the next link, not vanish into this one.
            if i.ws
                .as_ref()
                .is_some_and(|ws| ws.ready_state() == WebSocket::CLOSING)
            {
                i.session.link_closing(now);
            }
            if let Some(m) = msg.take() {
                res = i.session.send(now, m);
            }
        });
        res
    }
    pub fn close(&self, code: u16, reason: &str) {
        self.run(|i, now| i.session.close(now, code, reason));
    }
    pub fn reconnect(&self) {
        self.run(|i, now| i.session.reconnect(now));
    }
    pub fn with_session<R>(&self, f: impl FnOnce(&Session) -> R) -> R {
        f(&self.inner.borrow().session)
    }
    pub fn state(&self) -> State {
        self.with_session(Session::state)
    }

    // ---- the loop: input → session → actions → outputs ----

    /// Runs `f` on the session, carries out the resulting actions, re-arms the timer, and only
    /// then (with no borrow held) reports outputs, so handlers may call back into the driver.
    fn run(&self, mut f: impl FnMut(&mut Inner, u64)) {
        self.run_dyn(&mut f)
    }

    /// Not generic, so the loop is compiled once (the package is size-bound).
    fn run_dyn(&self, f: &mut dyn FnMut(&mut Inner, u64)) {
        let outs = {
            let mut i = self.inner.borrow_mut();
            let now = sys::now();
            f(&mut i, now);
            self.pump(&mut i, now);
            std::mem::take(&mut i.out)
        };
        for o in outs {
            (self.emit)(o);
        }
    }

    fn pump(&self, i: &mut Inner, now: u64) {
        while let Some(action) = i.session.poll_action() {
            match action {
                Action::Connect { attempt } => {
                    i.out.push(Output::Connecting { attempt });
                    if self.open_socket(i, attempt).is_err() {
                        // Bad URL or provider failure: counts as a failed attempt.
                        i.out.push(Output::Error);
                        i.session.closed(now, None);
                    }
                }
                Action::Send(msg) => send(i.ws.as_ref(), &msg),
                Action::SendHeartbeat(msg) => {
                    send(i.ws.as_ref(), &msg);
                    i.out.push(Output::HeartbeatSent);
                }
                // Browsers cannot send ping frames; the options never select this mode here.
                Action::Ping => {}
                Action::Close { code, reason } => {
                    if let Some(ws) = &i.ws {
                        let _ = ws.close_with_code_and_reason(code, &reason);
                    }
                }
                Action::Abort { code, reason } => {
                    // Browsers only send 1000 and 3000–4999; others close without a code.
                    if let Some(ws) = i.ws.take() {
                        detach(&ws);
                        if ws.close_with_code_and_reason(code, &reason).is_err() {
                            let _ = ws.close();
                        }
                    }
                    i.out.push(Output::Close {
                        code,
                        reason,
                        was_clean: false,
                    });
                }
                Action::Reconnecting {
                    attempt,
                    delay_ms,
                    at,
                } => i.out.push(Output::Reconnecting {
                    attempt,
                    delay_ms,
                    at,
                }),
                Action::HeartbeatTimeout => i.out.push(Output::HeartbeatTimeout),
                Action::Dropped { msg, reason } => i.out.push(Output::Dropped { msg, reason }),
                Action::Ended(why) => i.out.push(Output::Ended(why)),
                _ => {}
            }
        }
        if let Some(t) = i.timer.take() {
            sys::clear_timeout(&t);
        }
        if let Some(deadline) = i.session.next_deadline() {
            let ms = deadline.saturating_sub(now) as f64;
            i.timer = Some(sys::set_timeout(self.cb.timer.as_ref().unchecked_ref(), ms));
        }
    }

    fn open_socket(&self, i: &mut Inner, attempt: u32) -> Result<(), JsValue> {
        let url = (i.url)(attempt)?;
        let mut protocols = (i.protocols)(attempt)?;
        protocols.extend(i.session.subprotocol().map(str::to_owned));
        let ws = if protocols.is_empty() {
            WebSocket::new(&url)?
        } else {
            let list: js_sys::Array = protocols.iter().map(|p| JsValue::from_str(p)).collect();
            WebSocket::new_with_str_sequence(&url, &list)?
        };
        // Always ArrayBuffer inside: the owner converts to Blob when asked to.
        ws.set_binary_type(BinaryType::Arraybuffer);
        ws.set_onopen(Some(self.cb.open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(self.cb.message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(self.cb.close.as_ref().unchecked_ref()));
        ws.set_onerror(Some(self.cb.error.as_ref().unchecked_ref()));
        i.ws = Some(ws);
        Ok(())
    }

    // ---- browser events ----

    fn is_current(i: &Inner, e: &Event) -> bool {
        match (&i.ws, e.target()) {
            (Some(ws), Some(t)) => js_sys::Object::is(ws, &t),
            _ => false,
        }
    }

    fn on_open(&self, e: Event) {
        self.run(|i, now| {
            if Self::is_current(i, &e) {
                i.out.push(Output::Open);
                let protocol = i.ws.as_ref().map(WebSocket::protocol).unwrap_or_default();
                i.session.opened(now, &protocol);
            }
        });
    }

    fn on_message(&self, e: Event) {
        let e: MessageEvent = e.unchecked_into();
        self.run(|i, now| {
            if !Self::is_current(i, &e) {
                return;
            }
            let data = e.data();
            let r = if let Some(text) = data.as_string() {
                i.session.received(now, text.as_bytes(), true)
            } else {
                // Only a frame header, or a binary heartbeat reply, needs the bytes.
                let peek = match &i.session.config().heartbeat.mode {
                    HeartbeatMode::AppPing { pong, .. } => pong.len() + 1,
                    _ => 0,
                }
                .max(wire::HELLO_LEN);
                let all = js_sys::Uint8Array::new(&data);
                let n = all.length().min(peek as u32);
                i.session.received(now, &all.subarray(0, n).to_vec(), false)
            };
            match r {
                Received::Message => i.out.push(Output::Message(data)),
                Received::HeartbeatReply => {
                    let rtt = i.session.rtt().unwrap_or(0);
                    i.out.push(Output::HeartbeatReply { rtt });
                }
                Received::Payload { offset, text } => {
                    let buf: js_sys::ArrayBuffer = data.unchecked_into();
                    let payload = buf.slice(offset as u32);
                    i.out.push(Output::Message(if text {
                        let bytes = js_sys::Uint8Array::new(&payload).to_vec();
                        String::from_utf8_lossy(&bytes).as_ref().into()
                    } else {
                        payload.into()
                    }));
                }
                _ => {}
            }
        });
    }

    fn on_close(&self, e: Event) {
        let e: CloseEvent = e.unchecked_into();
        self.run(|i, now| {
            if !Self::is_current(&*i, &e) {
                return;
            }
            if let Some(ws) = i.ws.take() {
                detach(&ws);
            }
            let code = e.code();
            i.out.push(Output::Close {
                code,
                reason: e.reason(),
                was_clean: e.was_clean(),
            });
            // 1006 is what browsers report when no close frame arrived (RFC 6455 §7.1.5).
            i.session.closed(now, (code != 1006).then_some(code));
        });
    }

    fn on_error(&self, e: Event) {
        self.run(|i, _| {
            if Self::is_current(i, &e) {
                i.out.push(Output::Error);
            }
        });
    }

    fn on_wake(&self, e: Event) {
        let visible = || {
            e.target()
                .is_some_and(|t| !t.unchecked_into::<sys::Hideable>().hidden())
        };
        match e.type_().as_str() {
            "online" => self.run(|i, now| i.session.wake(now)),
            "offline" => self.run(|i, now| i.session.check(now)),
            "visibilitychange" if visible() => self.run(|i, now| i.session.wake(now)),
            _ => {}
        }
    }

    fn listen_wakeups(&self) {
        let f = self.cb.wake.as_ref().unchecked_ref();
        let _ = sys::add_global_listener("online", f);
        let _ = sys::add_global_listener("offline", f);
        let _ = sys::add_document_listener("visibilitychange", f);
        self.inner.borrow_mut().listening = true;
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let i = self.inner.get_mut();
        if i.listening {
            let f = self.cb.wake.as_ref().unchecked_ref();
            let _ = sys::remove_global_listener("online", f);
            let _ = sys::remove_global_listener("offline", f);
            let _ = sys::remove_document_listener("visibilitychange", f);
        }
        if let Some(t) = i.timer.take() {
            sys::clear_timeout(&t);
        }
        if let Some(ws) = i.ws.take() {
            detach(&ws);
            let _ = ws.close_with_code(1000);
        }
    }
}

fn send(ws: Option<&WebSocket>, msg: &Message) {
    let Some(ws) = ws else { return };
    // Errors here mean the socket is already closing; its close event will tell the session.
    let _ = match msg {
        Message::Text(t) => ws.send_with_str(t),
        Message::Binary(b) => ws.send_with_u8_array(b),
    };
}

/// Stops a socket from reporting anything more (it is being abandoned).
fn detach(ws: &WebSocket) {
    ws.set_onopen(None);
    ws.set_onmessage(None);
    ws.set_onclose(None);
    ws.set_onerror(None);
}
