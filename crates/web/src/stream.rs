//! The Rust API: a `futures` `Stream` of events and a `Sink` of messages, on the same driver
//! as the JS class. [`WebSocket`] is the plain, non-reconnecting variant.

use crate::driver::{Driver, Output};
use ferrosocket_core::session::{
    Config, DropReason, EndReason, Heartbeat, HeartbeatMode, Message, SendError, State,
};
use futures_core::Stream;
use futures_sink::Sink;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::JsValue;

/// What a [`ReconnectingSocket`] yields.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Connecting {
        attempt: u32,
    },
    Open,
    Message(Message),
    Closed {
        code: u16,
        reason: String,
        was_clean: bool,
    },
    Error,
    Reconnecting {
        attempt: u32,
        delay_ms: u64,
    },
    HeartbeatSent,
    HeartbeatReply {
        rtt: u64,
    },
    HeartbeatTimeout,
    Dropped(Message, DropReason),
    /// The last event: the session stopped for good.
    Ended(EndReason),
}

fn event(out: Output) -> Event {
    match out {
        Output::Connecting { attempt } => Event::Connecting { attempt },
        Output::Open => Event::Open,
        Output::Message(data) => Event::Message(match data.as_string() {
            Some(t) => Message::Text(t),
            None => Message::Binary(js_sys::Uint8Array::new(&data).to_vec()),
        }),
        Output::Close {
            code,
            reason,
            was_clean,
        } => Event::Closed {
            code,
            reason,
            was_clean,
        },
        Output::Error => Event::Error,
        Output::Reconnecting {
            attempt, delay_ms, ..
        } => Event::Reconnecting { attempt, delay_ms },
        Output::HeartbeatSent => Event::HeartbeatSent,
        Output::HeartbeatReply { rtt } => Event::HeartbeatReply { rtt },
        Output::HeartbeatTimeout => Event::HeartbeatTimeout,
        Output::Dropped { msg, reason } => Event::Dropped(msg, reason),
        Output::Ended(why) => Event::Ended(why),
    }
}

/// Events waiting for the stream's consumer (single-threaded: the driver and the stream share
/// the browser's one thread, so no channel is needed).
#[derive(Default)]
struct Inbox {
    events: VecDeque<Event>,
    waker: Option<Waker>,
}

/// A reconnecting WebSocket for Rust web apps. Dropping it closes the link.
pub struct ReconnectingSocket {
    driver: Rc<Driver>,
    inbox: Rc<RefCell<Inbox>>,
}

impl ReconnectingSocket {
    /// Connects to a fixed URL. The heartbeat must be `AppPing` or `ExpectTraffic` (or off):
    /// browsers cannot send ping frames.
    pub fn connect(url: &str, protocols: &[&str], config: Config) -> Self {
        let url = url.to_owned();
        Self::connect_with(
            move |_| url.clone(),
            protocols.iter().map(|p| p.to_string()).collect(),
            config,
        )
    }

    /// Connects to the URL `url(attempt)` returns on each attempt.
    pub fn connect_with(
        url: impl FnMut(u32) -> String + 'static,
        protocols: Vec<String>,
        config: Config,
    ) -> Self {
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let tx = inbox.clone();
        let mut url = url;
        let driver = Driver::new(
            config,
            Box::new(move |n| Ok::<_, JsValue>(url(n))),
            Box::new(move |_| Ok(protocols.clone())),
            Box::new(move |out| {
                let mut inbox = tx.borrow_mut();
                inbox.events.push_back(event(out));
                if let Some(w) = inbox.waker.take() {
                    w.wake();
                }
            }),
        );
        driver.start();
        ReconnectingSocket { driver, inbox }
    }

    pub fn send(&self, msg: Message) -> Result<(), SendError> {
        self.driver.send(msg)
    }
    /// Closes for good (no reconnect).
    pub fn close(&self, code: u16, reason: &str) {
        self.driver.close(code, reason)
    }
    /// Drops the link and connects again now, backoff reset.
    pub fn reconnect(&self) {
        self.driver.reconnect()
    }
    pub fn state(&self) -> State {
        self.driver.state()
    }
    pub fn retry_count(&self) -> u32 {
        self.driver.with_session(|s| s.retry_count())
    }
    pub fn rtt(&self) -> Option<u64> {
        self.driver.with_session(|s| s.rtt())
    }
    pub fn queued_len(&self) -> usize {
        self.driver.with_session(|s| s.queued_len())
    }
}

impl Stream for ReconnectingSocket {
    type Item = Event;
    /// Never ends by itself: after `Event::Ended` it stays pending.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        let mut inbox = self.inbox.borrow_mut();
        match inbox.events.pop_front() {
            Some(e) => Poll::Ready(Some(e)),
            None => {
                inbox.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Sending never waits: the session sends at once or queues (bounded by its queue options).
impl Sink<Message> for ReconnectingSocket {
    type Error = SendError;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, msg: Message) -> Result<(), SendError> {
        self.driver.send(msg)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        self.driver.close(1000, "");
        Poll::Ready(Ok(()))
    }
}

/// A plain WebSocket: one link, no reconnect, no heartbeat. Messages sent before it opens are
/// held until it does. The stream yields received messages and ends when the link closes.
pub struct WebSocket {
    inner: ReconnectingSocket,
    close: Option<(u16, String)>,
}

impl WebSocket {
    pub fn connect(url: &str, protocols: &[&str]) -> Self {
        let config = Config {
            max_retries: Some(0),
            connect_timeout_ms: 0,
            heartbeat: Heartbeat {
                mode: HeartbeatMode::Off,
                ..Heartbeat::default()
            },
            ..Config::default()
        };
        WebSocket {
            inner: ReconnectingSocket::connect(url, protocols, config),
            close: None,
        }
    }
    pub fn state(&self) -> State {
        self.inner.state()
    }
    /// The close code and reason, once the stream has ended.
    pub fn close_info(&self) -> Option<&(u16, String)> {
        self.close.as_ref()
    }
}

impl Stream for WebSocket {
    type Item = Message;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Message>> {
        loop {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(Some(Event::Message(m))) => return Poll::Ready(Some(m)),
                Poll::Ready(Some(Event::Closed { code, reason, .. })) => {
                    self.close = Some((code, reason))
                }
                Poll::Ready(Some(Event::Ended(_))) | Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(_)) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Sink<Message> for WebSocket {
    type Error = SendError;
    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        Pin::new(&mut self.inner).poll_ready(cx)
    }
    fn start_send(mut self: Pin<&mut Self>, msg: Message) -> Result<(), SendError> {
        Pin::new(&mut self.inner).start_send(msg)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
