//! Acknowledged delivery and the closing link, with a fake clock and a simulated server.

use super::tests::{drain, session};
use super::*;

fn acked() -> Config {
    Config {
        acknowledged: true,
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

/// The wire frames of the `Send` actions.
fn sent(actions: &[Action]) -> Vec<wire::Frame> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(Message::Binary(b)) => wire::decode(b),
            _ => None,
        })
        .collect()
}

fn data(seq: u64) -> wire::Frame {
    wire::Frame::Data { seq, text: true }
}

#[test]
fn unacknowledged_messages_are_sent_again_after_a_reconnect() {
    let mut s = session(acked(), &[0.0]);
    s.start(0);
    s.send(1, text("a")).unwrap(); // queued before the link opens
    drain(&mut s);
    s.opened(10, wire::SUBPROTOCOL);
    let id = *s.session_id().unwrap();
    assert_eq!(
        sent(&drain(&mut s)),
        [wire::Frame::Hello { id, last: 0 }, data(1)]
    );
    s.send(11, text("b")).unwrap();
    s.send(12, text("c")).unwrap();
    let acts = drain(&mut s);
    assert_eq!(sent(&acts), [data(2), data(3)]);
    match &acts[1] {
        Action::Send(Message::Binary(f)) => assert_eq!(&f[wire::HEADER_LEN..], b"c"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.queued_len(), 3, "kept until acknowledged");
    assert_eq!(s.received(13, &wire::ack(2), false), Received::Consumed);
    assert_eq!(s.queued_len(), 1);
    assert_eq!(s.queued_bytes(), 1);
    // The link dies; "d" is queued; the next link resends 3 and 4, after HELLO.
    s.closed(20, None);
    s.send(21, text("d")).unwrap();
    drain(&mut s);
    let t = s.next_deadline().unwrap();
    s.tick(t);
    drain(&mut s);
    s.opened(t + 1, wire::SUBPROTOCOL);
    assert_eq!(
        sent(&drain(&mut s)),
        [wire::Frame::Hello { id, last: 0 }, data(3), data(4)]
    );
    // An ACK below what was acknowledged before (a restarted server) changes nothing.
    s.received(t + 2, &wire::ack(0), false);
    assert_eq!(s.queued_len(), 2);
    s.received(t + 3, &wire::ack(4), false);
    assert_eq!(s.queued_len(), 0);
}

#[test]
fn server_messages_are_acknowledged_and_deduplicated() {
    let mut s = session(acked(), &[0.0]);
    s.start(0);
    s.opened(1, wire::SUBPROTOCOL);
    drain(&mut s);
    let m1 = wire::data(1, true, b"one");
    let m2 = wire::data(2, false, b"two");
    let payload = Received::Payload {
        offset: wire::HEADER_LEN,
        text: true,
    };
    assert_eq!(s.received(2, &m1, false), payload);
    assert_eq!(sent(&drain(&mut s)), [wire::Frame::Ack(1)]);
    assert_eq!(s.received(3, &m1, false), Received::Consumed, "duplicate");
    assert_eq!(sent(&drain(&mut s)), [wire::Frame::Ack(1)], "acked again");
    // A prefix is enough to classify a large message.
    assert_eq!(
        s.received(4, &m2[..wire::HEADER_LEN], false),
        Received::Payload {
            offset: wire::HEADER_LEN,
            text: false
        }
    );
    drain(&mut s);
    // Text frames are outside the protocol.
    assert_eq!(s.received(5, b"plain", true), Received::Message);
    // After a reconnect, HELLO says what arrived.
    s.closed(6, None);
    let t = s.next_deadline().unwrap();
    s.tick(t);
    s.opened(t, wire::SUBPROTOCOL);
    let id = *s.session_id().unwrap();
    assert_eq!(sent(&drain(&mut s)), [wire::Frame::Hello { id, last: 2 }]);
}

#[test]
fn garbage_from_the_server_is_a_protocol_error() {
    let mut s = session(acked(), &[0.0]);
    s.start(0);
    s.opened(1, wire::SUBPROTOCOL);
    drain(&mut s);
    assert_eq!(s.received(2, &[9, 9], false), Received::Consumed);
    let acts = drain(&mut s);
    assert!(matches!(
        acts[0],
        Action::Abort {
            code: PROTOCOL_ERROR_CODE,
            ..
        }
    ));
    assert_eq!(
        acts.last(),
        Some(&Action::Ended(EndReason::CloseCode(1002)))
    );
}

#[test]
fn a_server_without_the_subprotocol_ends_the_session() {
    let mut s = session(acked(), &[0.0]);
    assert_eq!(s.subprotocol(), Some(wire::SUBPROTOCOL));
    s.send(0, text("x")).unwrap();
    s.start(0);
    drain(&mut s);
    s.opened(1, "");
    let acts = drain(&mut s);
    assert!(matches!(
        acts[0],
        Action::Abort {
            code: ACK_REFUSED_CODE,
            ..
        }
    ));
    assert_eq!(
        acts[1..],
        [
            Action::Dropped {
                msg: text("x"),
                reason: DropReason::Closed
            },
            Action::Ended(EndReason::AckRefused)
        ]
    );
    assert_eq!(EndReason::AckRefused.as_str(), "ack-refused");
}

#[test]
fn acknowledged_queue_bounds_hold_in_flight_messages() {
    let mut cfg = acked();
    cfg.queue = QueueConfig {
        max_messages: 2,
        max_bytes: 10,
        overflow: Overflow::Error,
    };
    let mut s = session(cfg, &[0.0]);
    s.start(0);
    s.opened(1, wire::SUBPROTOCOL);
    drain(&mut s);
    s.send(2, text("1")).unwrap();
    s.send(2, text("2")).unwrap();
    assert_eq!(s.check_send(1), Err(SendError::QueueFull));
    assert_eq!(s.send(2, text("3")), Err(SendError::QueueFull));
    assert_eq!(s.check_send(11), Err(SendError::TooLarge));
    s.received(3, &wire::ack(1), false);
    assert_eq!(s.check_send(1), Ok(()));
    s.send(4, text("3")).unwrap();
    assert_eq!(
        sent(&drain(&mut s)),
        [data(1), data(2), data(3)],
        "seq 3 was not used by the refusal"
    );
}

#[test]
fn a_closing_link_queues_sends_for_the_next_one() {
    let cfg = Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::Off,
            ..Heartbeat::default()
        },
        ..Config::default()
    };
    let mut s = session(cfg, &[0.0]);
    s.start(0);
    s.opened(1, "");
    drain(&mut s);
    s.link_closing(2);
    assert_eq!(s.state(), State::LinkClosing);
    assert_eq!(s.state().ready_state(), 2);
    assert_eq!(s.state().as_str(), "closing");
    s.send(3, text("during close")).unwrap();
    assert!(drain(&mut s).is_empty(), "not handed to the closing socket");
    assert_eq!(s.queued_len(), 1);
    assert!(!s.too_large(10) && s.too_large(2 << 20));
    s.closed(4, Some(1012));
    assert!(matches!(drain(&mut s)[..], [Action::Reconnecting { .. }]));
    let t = s.next_deadline().unwrap();
    s.tick(t);
    drain(&mut s);
    s.opened(t, "");
    assert_eq!(drain(&mut s), vec![Action::Send(text("during close"))]);
}
