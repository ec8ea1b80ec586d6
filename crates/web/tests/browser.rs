//! Runs in headless Chromium (tests/run-browser.sh) against the demo server's `/echo` endpoint,
//! whose ws:// base URL is baked in at compile time from FERROSOCKET_TEST_WS.
#![cfg(target_arch = "wasm32")]

use ferrosocket_web::{
    Config, Event, Heartbeat, HeartbeatMode, Message, ReconnectingSocket, WebSocket,
};
use futures_util::future::{select, Either};
use futures_util::{SinkExt, StreamExt};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const BASE: &str = match option_env!("FERROSOCKET_TEST_WS") {
    Some(u) => u,
    None => "ws://127.0.0.1:9",
};

fn echo() -> String {
    format!("{BASE}/echo")
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(cb: &js_sys::Function, ms: i32);
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| set_timeout(&resolve, ms));
    let _ = JsFuture::from(p).await;
}

/// Fast timings so a test takes well under a second or two.
fn fast() -> Config {
    Config {
        min_delay_ms: 50,
        max_delay_ms: 200,
        connect_timeout_ms: 2_000,
        heartbeat: Heartbeat {
            mode: HeartbeatMode::Off,
            ..Heartbeat::default()
        },
        ..Config::default()
    }
}

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

/// Events up to and including the first that `done` accepts; panics after `ms`.
async fn until(s: &mut ReconnectingSocket, ms: i32, done: impl Fn(&Event) -> bool) -> Vec<Event> {
    let mut seen = Vec::new();
    let mut timer = Box::pin(sleep(ms));
    loop {
        match select(s.next(), timer).await {
            Either::Left((Some(e), t)) => {
                let stop = done(&e);
                seen.push(e);
                if stop {
                    return seen;
                }
                timer = t;
            }
            Either::Left((None, _)) => panic!("stream ended; saw {seen:?}"),
            Either::Right(_) => panic!("timed out after {ms} ms; saw {seen:?}"),
        }
    }
}

fn messages(events: &[Event]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Message(m) = e {
                Some(m.clone())
            } else {
                None
            }
        })
        .collect()
}

/// The next `n` messages (other events skipped); panics after `ms`.
async fn next_messages(s: &mut ReconnectingSocket, n: usize, ms: i32) -> Vec<Message> {
    let count = std::cell::Cell::new(0);
    let seen = until(s, ms, |e| {
        if matches!(e, Event::Message(_)) {
            count.set(count.get() + 1);
        }
        count.get() == n
    })
    .await;
    messages(&seen)
}

#[wasm_bindgen_test]
async fn echo_text_and_binary() {
    let mut s = ReconnectingSocket::connect(&echo(), &[], fast());
    until(&mut s, 3_000, |e| *e == Event::Open).await;
    let sent = vec![
        text("hello"),
        Message::Binary(vec![0, 1, 2, 255]),
        text(""),
        text("héllo ✓"),
    ];
    for m in &sent {
        s.send(m.clone()).unwrap();
    }
    assert_eq!(next_messages(&mut s, sent.len(), 3_000).await, sent);
    s.close(1000, "done");
    let seen = until(&mut s, 3_000, |e| matches!(e, Event::Ended(_))).await;
    assert!(
        seen.iter().any(|e| matches!(
            e,
            Event::Closed {
                code: 1000,
                was_clean: true,
                ..
            }
        )),
        "{seen:?}"
    );
}

#[wasm_bindgen_test]
async fn plain_websocket_echoes_and_ends_on_close() {
    let mut ws = WebSocket::connect(&echo(), &[]);
    // Sent before the socket opens: held, then sent on open.
    ws.send(text("plain")).await.unwrap();
    assert_eq!(ws.next().await, Some(text("plain")));
    ws.send(Message::Binary(vec![9; 3000])).await.unwrap();
    assert_eq!(ws.next().await, Some(Message::Binary(vec![9; 3000])));
    ws.send(text("__drop__")).await.unwrap();
    assert_eq!(ws.next().await, None, "no reconnect: the stream ends");
    assert_eq!(ws.close_info().map(|c| c.0), Some(1006));
}

#[wasm_bindgen_test]
async fn reconnects_after_the_server_drops_the_link() {
    let mut s = ReconnectingSocket::connect(&echo(), &[], fast());
    until(&mut s, 3_000, |e| *e == Event::Open).await;
    s.send(text("__drop__")).unwrap();
    let seen = until(&mut s, 3_000, |e| matches!(e, Event::Reconnecting { .. })).await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::Closed { code: 1006, .. })),
        "{seen:?}"
    );
    assert!(
        matches!(
            seen.last(),
            Some(Event::Reconnecting {
                attempt: 1,
                delay_ms: 50..=200
            })
        ),
        "{seen:?}"
    );
    let seen = until(&mut s, 3_000, |e| *e == Event::Open).await;
    assert!(seen.contains(&Event::Connecting { attempt: 1 }), "{seen:?}");
    s.send(text("back")).unwrap();
    assert_eq!(next_messages(&mut s, 1, 3_000).await, vec![text("back")]);
    s.close(1000, "");
}

#[wasm_bindgen_test]
async fn heartbeat_timeout_when_the_server_stops_answering() {
    let cfg = Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::AppPing {
                ping: text("__ping__"),
                pong: text("__pong__"),
            },
            interval_ms: 100,
            timeout_ms: 300,
        },
        ..fast()
    };
    let mut s = ReconnectingSocket::connect(&echo(), &[], cfg);
    let seen = until(&mut s, 3_000, |e| matches!(e, Event::HeartbeatReply { .. })).await;
    assert!(
        messages(&seen).is_empty(),
        "the pong is not delivered as a message"
    );
    assert!(s.rtt().is_some());
    // This link stops answering (pongs included) for 3 s: the heartbeat must notice.
    s.send(text("__pause__:3000")).unwrap();
    let seen = until(&mut s, 3_000, |e| *e == Event::HeartbeatTimeout).await;
    assert!(seen.contains(&Event::HeartbeatSent), "{seen:?}");
    let seen = until(&mut s, 3_000, |e| *e == Event::Open).await;
    assert!(
        matches!(
            seen[0],
            Event::Closed {
                code: 4000,
                was_clean: false,
                ..
            }
        ),
        "{seen:?}"
    );
    // The new link answers again.
    until(&mut s, 3_000, |e| matches!(e, Event::HeartbeatReply { .. })).await;
    s.close(1000, "");
}

#[wasm_bindgen_test]
async fn queued_messages_flush_in_order_exactly_once() {
    let cfg = Config {
        min_delay_ms: 300,
        max_delay_ms: 400,
        ..fast()
    };
    let mut s = ReconnectingSocket::connect(&echo(), &[], cfg);
    until(&mut s, 3_000, |e| *e == Event::Open).await;
    s.send(text("__drop__")).unwrap();
    until(&mut s, 3_000, |e| matches!(e, Event::Reconnecting { .. })).await;
    let queued: Vec<Message> = (1..=5).map(|i| text(&format!("q{i}"))).collect();
    for m in &queued {
        s.send(m.clone()).unwrap();
    }
    assert_eq!(s.queued_len(), 5);
    assert_eq!(next_messages(&mut s, 5, 3_000).await, queued);
    assert_eq!(s.queued_len(), 0);
    // Exactly once: nothing more arrives.
    let mut extra = Box::pin(s.next());
    match select(extra.as_mut(), Box::pin(sleep(400))).await {
        Either::Left((e, _)) => panic!("unexpected {e:?}"),
        Either::Right(_) => {}
    }
    drop(extra);
    s.close(1000, "");
}

fn dispatch(target: &str, kind: &str) {
    let f = js_sys::Function::new_no_args(&format!("{target}.dispatchEvent(new Event({kind:?}))"));
    f.call0(&JsValue::NULL).unwrap();
}

#[wasm_bindgen_test]
async fn online_event_skips_the_backoff_wait() {
    // A 5-second backoff that the `online` event cuts short.
    let cfg = Config {
        min_delay_ms: 5_000,
        max_delay_ms: 6_000,
        ..fast()
    };
    let mut s = ReconnectingSocket::connect(&echo(), &[], cfg);
    until(&mut s, 3_000, |e| *e == Event::Open).await;
    s.send(text("__drop__")).unwrap();
    until(&mut s, 3_000, |e| matches!(e, Event::Reconnecting { .. })).await;
    dispatch("globalThis", "online");
    let seen = until(&mut s, 1_000, |e| *e == Event::Open).await;
    assert_eq!(seen[0], Event::Connecting { attempt: 1 }, "{seen:?}");
    s.close(1000, "");
}

#[wasm_bindgen_test]
async fn page_becoming_visible_probes_the_link_at_once() {
    let cfg = Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::AppPing {
                ping: text("__ping__"),
                pong: text("__pong__"),
            },
            interval_ms: 60_000,
            timeout_ms: 2_000,
        },
        ..fast()
    };
    let mut s = ReconnectingSocket::connect(&echo(), &[], cfg);
    until(&mut s, 3_000, |e| *e == Event::Open).await;
    assert_eq!(s.rtt(), None, "no heartbeat yet: the interval is a minute");
    dispatch("document", "visibilitychange");
    let seen = until(&mut s, 1_000, |e| matches!(e, Event::HeartbeatReply { .. })).await;
    assert_eq!(seen[0], Event::HeartbeatSent, "{seen:?}");
    assert!(s.rtt().is_some());
    s.close(1000, "");
}
