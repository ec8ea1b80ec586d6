//! The connection's lifecycle as a transport sees it (RFC 6455 §7): what to do with the
//! transport, the close timeout as a deadline, the pong bound, the final status, and
//! the send queue (high-water mark, shared frames, vectored output).

use std::io::IoSlice;

use ferrosocket_core::{
    ws, Config, Connection, DataKind, DestroyReason, Event, OwnedEvent, PreparedMessage, Role,
    SendStatus, State, TransportAction, UsageError,
};

fn pair() -> (Connection, Connection) {
    (
        Connection::new(Role::Client, Config::default()),
        Connection::new(Role::Server, Config::default()),
    )
}

fn pump(from: &mut Connection, to: &mut Connection) -> Vec<OwnedEvent> {
    let mut ev = Vec::new();
    let _ = to.feed_owned(&from.take_output(), &mut ev);
    ev
}

#[test]
fn clean_close_ends_both_transports_and_reports_the_peer_status() {
    let (mut c, mut s) = pair();
    c.close(Some(4000), "done").unwrap();
    assert_eq!(
        c.transport_action(),
        TransportAction::Keep,
        "waits for the reply"
    );
    pump(&mut c, &mut s);
    assert_eq!(
        s.transport_action(),
        TransportAction::End,
        "echo owed, then end"
    );
    assert_eq!(s.close_status(), (4000, "done"));
    pump(&mut s, &mut c);
    assert_eq!(c.transport_action(), TransportAction::End);
    assert_eq!(c.close_status(), (4000, "done"));
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn a_close_without_code_is_1005_and_no_close_at_all_is_1006() {
    let (mut c, mut s) = pair();
    c.close(None, "").unwrap();
    pump(&mut c, &mut s);
    assert_eq!(s.close_status(), (1005, ""));
    let (_, s2) = pair();
    assert_eq!(s2.close_status(), (1006, ""));
}

#[test]
fn close_timeout_is_a_deadline_that_destroys_the_transport() {
    let cfg = Config {
        close_timeout: 500,
        ..Config::default()
    };
    let mut c = Connection::new(Role::Client, cfg);
    assert_eq!(c.poll_deadline(0), None, "no deadline while open");
    c.close(Some(1000), "").unwrap();
    assert_eq!(c.poll_deadline(100), Some(600), "starts when first polled");
    assert_eq!(c.poll_deadline(300), Some(600), "armed once");
    c.on_timeout(599);
    assert_eq!(c.transport_action(), TransportAction::Keep);
    c.on_timeout(600);
    assert_eq!(c.transport_action(), TransportAction::Destroy);
    assert_eq!(c.destroy_reason(), Some(DestroyReason::CloseTimeout));
    assert_eq!(c.poll_deadline(700), None);
}

#[test]
fn a_failed_connection_owes_its_close_and_then_ends() {
    let (_, mut s) = pair();
    let err = s.feed(&[0x83, 0x80, 0, 0, 0, 0], |_| {}).unwrap_err();
    assert_eq!(err.close_code(), 1002);
    assert!(s.failed());
    assert_eq!(s.transport_action(), TransportAction::End);
    assert_eq!(s.output(), &[0x88, 0x02, 0x03, 0xea]);
    assert!(
        s.poll_deadline(0).is_some(),
        "close timer runs for the failure too"
    );
    assert_eq!(s.send_text("x"), Err(UsageError::NotOpen));
}

#[test]
fn peer_end_and_terminate() {
    let (_, mut s) = pair();
    s.peer_ended();
    assert_eq!(s.transport_action(), TransportAction::End);
    let (mut c, _) = pair();
    c.terminate();
    assert_eq!(c.transport_action(), TransportAction::Destroy);
    assert_eq!(c.send_text("x"), Err(UsageError::NotOpen));
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn unwritten_auto_pongs_are_bounded_and_past_the_bound_the_peer_is_terminated() {
    let cfg = Config {
        max_pending_pongs: 3,
        ..Config::default()
    };
    let mut s = Connection::new(Role::Server, cfg);
    let ping = [0x89, 0x80, 1, 2, 3, 4];
    for _ in 0..3 {
        s.feed(&ping, |_| {}).unwrap();
    }
    assert_eq!(s.transport_action(), TransportAction::Keep);
    // Written: the budget is back.
    let n = s.output().len();
    s.consume_output(n);
    for _ in 0..3 {
        s.feed(&ping, |_| {}).unwrap();
    }
    assert_eq!(s.transport_action(), TransportAction::Keep);
    s.feed(&ping, |_| {}).unwrap();
    assert_eq!(s.transport_action(), TransportAction::Destroy);
    assert_eq!(s.destroy_reason(), Some(DestroyReason::TooManyPendingPongs));
}

#[test]
fn answer_ping_lets_the_caller_place_the_pong_after_its_replies() {
    let cfg = Config {
        auto_pong: false,
        ..Config::default()
    };
    let mut s = Connection::new(Role::Server, cfg);
    let mut c = Connection::new(Role::Client, Config::default());
    c.send_text("m").unwrap();
    c.ping(b"p").unwrap();
    let wire = c.take_output();
    let mut pings = Vec::new();
    let mut texts = Vec::new();
    s.feed(&wire, |e| match e {
        Event::Text(t) => texts.push(t.to_string()),
        Event::Ping(p) => pings.push(p.to_vec()),
        _ => {}
    })
    .unwrap();
    assert!(!s.has_output(), "nothing answered by itself");
    s.send_text("reply").unwrap();
    assert!(s.answer_ping(&pings[0]));
    let ev = pump(&mut s, &mut c);
    assert_eq!(
        ev,
        vec![
            OwnedEvent::Text("reply".into()),
            OwnedEvent::Pong(b"p".to_vec())
        ]
    );
    // External pongs count against the bound too.
    let mut s = Connection::new(
        Role::Server,
        Config {
            max_pending_pongs: 1,
            ..Config::default()
        },
    );
    assert!(s.begin_auto_pong());
    assert!(!s.begin_auto_pong());
    assert_eq!(s.destroy_reason(), Some(DestroyReason::TooManyPendingPongs));
}

#[test]
fn high_water_mark_and_vectored_output_with_shared_frames() {
    let mut s = Connection::new(
        Role::Server,
        Config {
            high_water_mark: 100,
            ..Config::default()
        },
    );
    assert_eq!(s.send_binary(&[1; 50]), Ok(SendStatus::Queued));
    let shared = PreparedMessage::new(DataKind::Text, b"to everyone");
    assert_eq!(s.send_prepared(&shared), Ok(SendStatus::Queued));
    assert_eq!(s.send_binary(&[2; 50]), Ok(SendStatus::OverHighWaterMark));
    let total = s.buffered();
    let mut slots = [IoSlice::new(&[]); 4];
    let n = s.output_slices(&mut slots);
    assert_eq!(n, 3, "owned, shared, owned");
    assert_eq!(slots[..n].iter().map(|s| s.len()).sum::<usize>(), total);
    let mut c = Connection::new(Role::Client, Config::default());
    let ev = pump(&mut s, &mut c);
    assert_eq!(ev[1], OwnedEvent::Text("to everyone".into()));
    let mut c2 = Connection::new(Role::Client, Config::default());
    assert_eq!(
        c2.send_prepared(&shared),
        Err(UsageError::PreparedFrameOnClient)
    );
}

#[test]
fn idle_connections_hold_no_large_buffer_after_big_traffic() {
    let (mut c, mut s) = pair();
    c.send_binary(&vec![7; 1 << 20]).unwrap();
    pump(&mut c, &mut s);
    s.send_binary(&vec![7; 1 << 20]).unwrap();
    let n = s.output().len();
    s.consume_output(n / 2);
    s.consume_output(n);
    assert!(
        s.buffered_heap_bytes() <= 1024,
        "{}",
        s.buffered_heap_bytes()
    );
    assert!(
        c.buffered_heap_bytes() <= 1024,
        "{}",
        c.buffered_heap_bytes()
    );
}

#[test]
fn ws_defaults_live_in_one_place() {
    let cfg = ws::config();
    assert_eq!(cfg.max_message_size, 100 * 1024 * 1024);
    assert_eq!(cfg.close_timeout, 30_000);
    assert_eq!(cfg.max_pending_pongs, 60);
    assert_eq!(cfg.max_fragments, 16 * 1024);
}

#[test]
fn a_close_answering_a_message_before_a_violation_replaces_the_owed_close() {
    // A message, then an unmasked frame (RFC 6455 §5.1 violation), in one chunk.
    let (mut c, mut s) = pair();
    c.send_text("hi").unwrap();
    let mut bytes = c.take_output();
    bytes.extend_from_slice(&[0x81, 0x01, b'x']);
    let mut events = Vec::new();
    assert!(s.feed_owned(&bytes, &mut events).is_err());
    assert_eq!(events, vec![OwnedEvent::Text("hi".into())]);
    // The application answers the message with a close before the output is taken:
    // ws (which delivers while parsing) sends that close, not the failure's 1002.
    s.close(Some(1001), "").unwrap();
    let mut back = Vec::new();
    let _ = c.feed_owned(&s.take_output(), &mut back);
    assert_eq!(
        back,
        vec![OwnedEvent::Close {
            code: Some(1001),
            reason: String::new()
        }]
    );
    // Once the failure's close is written, a later close changes nothing.
    let (mut c, mut s) = pair();
    c.send_text("hi").unwrap();
    let mut bytes = c.take_output();
    bytes.extend_from_slice(&[0x81, 0x01, b'x']);
    let _ = s.feed_owned(&bytes, &mut Vec::new());
    let out = s.take_output();
    s.close(Some(1001), "").unwrap();
    assert!(!s.has_output());
    let mut back = Vec::new();
    let _ = c.feed_owned(&out, &mut back);
    assert_eq!(
        back,
        vec![OwnedEvent::Close {
            code: Some(1002),
            reason: String::new()
        }]
    );
}
