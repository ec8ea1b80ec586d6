//! Property tests: random event sequences. Every accepted message is sent or dropped exactly
//! once, in send order, and the queue never exceeds its bounds.

use super::tests::{drain, session};
use super::*;
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Send(usize),
    Opened,
    Closed(Option<u16>),
    Tick(u64),
    Close,
    Reconnect,
    Wake,
    Pong,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..40).prop_map(Op::Send),
        2 => Just(Op::Opened),
        2 => prop_oneof![Just(None), Just(Some(1000)), Just(Some(1001)), Just(Some(1008)), Just(Some(4100))]
            .prop_map(Op::Closed),
        3 => (0u64..40_000).prop_map(Op::Tick),
        1 => Just(Op::Close),
        1 => Just(Op::Reconnect),
        1 => Just(Op::Wake),
        1 => Just(Op::Pong),
    ]
}

fn overflow() -> impl Strategy<Value = Overflow> {
    prop_oneof![
        Just(Overflow::DropOldest),
        Just(Overflow::DropNewest),
        Just(Overflow::Error)
    ]
}

proptest! {
    #[test]
    fn messages_are_handled_once_in_order_within_bounds(
        ops in proptest::collection::vec(op(), 1..120),
        max_messages in 0usize..6,
        max_bytes in 0usize..120,
        overflow in overflow(),
        unit in 0.0f64..1.0,
    ) {
        let cfg = Config {
            max_retries: Some(5),
            queue: QueueConfig { max_messages, max_bytes, overflow },
            ..Config::default()
        };
        let mut s = session(cfg, &[unit]);
        s.start(0);
        let mut now = 0u64;
        let mut next_id = 0usize;
        let mut handled = std::collections::BTreeSet::new();
        let mut last_sent: Option<usize> = None;
        let mut accepted = 0usize;
        let mut refused = std::collections::BTreeSet::new();
        for op in ops {
            match op {
                Op::Send(len) => {
                    // "<id>:" then padding, so the payload size varies.
                    let body = format!("{next_id}:{}", "x".repeat(len));
                    if s.send(now, Message::Text(body)).is_ok() {
                        accepted += 1;
                    } else {
                        refused.insert(next_id);
                    }
                    next_id += 1;
                }
                Op::Opened => s.opened(now, ""),
                Op::Closed(code) => s.closed(now, code),
                Op::Tick(dt) => {
                    now += dt;
                    s.tick(now);
                }
                Op::Close => s.close(now, 1000, ""),
                Op::Reconnect => s.reconnect(now),
                Op::Wake => s.wake(now),
                Op::Pong => s.pong_received(now),
            }
            prop_assert!(s.queued_len() <= max_messages);
            prop_assert!(s.queued_bytes() <= max_bytes);
            for a in drain(&mut s) {
                let msg = match a {
                    Action::Send(m) => {
                        let id = id_of(&m);
                        prop_assert!(last_sent.map_or(true, |l| id > l), "sent out of order");
                        last_sent = Some(id);
                        m
                    }
                    Action::Dropped { msg, .. } => msg,
                    Action::Reconnecting { at, delay_ms, .. } => {
                        prop_assert_eq!(at, now + delay_ms);
                        continue;
                    }
                    _ => continue,
                };
                let id = id_of(&msg);
                prop_assert!(!refused.contains(&id), "a refused message was handled");
                prop_assert!(handled.insert(id), "message handled twice");
            }
            if let Some(d) = s.next_deadline() {
                prop_assert!(s.state() != State::Closed && d < u64::MAX);
            }
        }
        // Conservation: every accepted message was sent, dropped (reported) or is still queued.
        prop_assert_eq!(handled.len() + s.queued_len(), accepted);
    }
}

fn id_of(m: &Message) -> usize {
    match m {
        Message::Text(t) => t.split(':').next().unwrap().parse().unwrap(),
        Message::Binary(_) => unreachable!(),
    }
}

/// What the acknowledged-mode property test does next.
#[derive(Clone, Debug)]
enum AckOp {
    Send(usize),
    /// The link opens (if an attempt is under way).
    Open,
    /// The wire delivers up to n frames to the server.
    Deliver(usize),
    /// The server acknowledges what it handed to its application.
    Ack,
    /// The link dies: frames still on the wire are lost.
    Drop,
    Tick(u64),
}

fn ack_op() -> impl Strategy<Value = AckOp> {
    prop_oneof![
        4 => (1usize..30).prop_map(AckOp::Send),
        2 => Just(AckOp::Open),
        3 => (0usize..6).prop_map(AckOp::Deliver),
        2 => Just(AckOp::Ack),
        1 => Just(AckOp::Drop),
        2 => (0u64..5_000).prop_map(AckOp::Tick),
    ]
}

proptest! {
    /// Acknowledged mode against a simulated server that de-duplicates by sequence number:
    /// whatever the link does, the server application gets each message at most once and in
    /// send order, and every accepted message is handed, reported dropped, or still queued.
    #[test]
    fn acknowledged_messages_reach_the_server_once_in_order(
        ops in proptest::collection::vec(ack_op(), 1..150),
        max_messages in 1usize..8,
        overflow in overflow(),
    ) {
        let cfg = Config {
            acknowledged: true,
            heartbeat: Heartbeat { mode: HeartbeatMode::Off, ..Heartbeat::default() },
            queue: QueueConfig { max_messages, max_bytes: 1 << 20, overflow },
            ..Config::default()
        };
        let mut s = session(cfg, &[0.5]);
        s.start(0);
        let mut now = 0u64;
        let mut next_id = 0usize;
        let mut accepted = Vec::new();
        let mut wire: std::collections::VecDeque<Vec<u8>> = Default::default();
        let mut connecting = false;
        let mut server_last = 0u64;
        let mut handed: Vec<usize> = Vec::new();
        let mut dropped = std::collections::BTreeSet::new();
        for op in ops {
            match op {
                AckOp::Send(len) => {
                    let body = format!("{next_id}:{}", "x".repeat(len));
                    if s.send(now, Message::Text(body)).is_ok() {
                        accepted.push(next_id);
                    }
                    next_id += 1;
                }
                AckOp::Open if connecting => {
                    s.opened(now, wire::SUBPROTOCOL);
                    connecting = false;
                }
                AckOp::Open => {}
                AckOp::Deliver(n) => {
                    for frame in wire.drain(..n.min(wire.len())) {
                        if let Some(wire::Frame::Data { seq, .. }) = wire::decode(&frame) {
                            if seq > server_last {
                                server_last = seq;
                                let text = std::str::from_utf8(&frame[wire::HEADER_LEN..]).unwrap();
                                handed.push(text.split(':').next().unwrap().parse().unwrap());
                            }
                        }
                    }
                }
                AckOp::Ack if s.state() == State::Open => {
                    s.received(now, &wire::ack(server_last), false);
                }
                AckOp::Ack => {}
                AckOp::Drop => {
                    wire.clear();
                    s.closed(now, None);
                }
                AckOp::Tick(dt) => {
                    now += dt;
                    s.tick(now);
                }
            }
            prop_assert!(s.queued_len() <= max_messages);
            for a in drain(&mut s) {
                match a {
                    Action::Connect { .. } => {
                        wire.clear();
                        connecting = true;
                    }
                    Action::Send(Message::Binary(f)) => wire.push_back(f),
                    Action::Dropped { msg, .. } => {
                        prop_assert!(dropped.insert(id_of(&msg)), "dropped twice");
                    }
                    _ => {}
                }
            }
        }
        // Finally a link that stays up and delivers everything: nothing may be missing.
        for _ in 0..20 {
            if s.state() == State::Open {
                break;
            }
            if connecting {
                s.opened(now, wire::SUBPROTOCOL);
                connecting = false;
            } else if let Some(d) = s.next_deadline() {
                now = now.max(d);
                s.tick(now);
            }
            for a in drain(&mut s) {
                match a {
                    Action::Connect { .. } => {
                        wire.clear();
                        connecting = true;
                    }
                    Action::Send(Message::Binary(f)) => wire.push_back(f),
                    Action::Dropped { msg, .. } => {
                        prop_assert!(dropped.insert(id_of(&msg)), "dropped twice");
                    }
                    _ => {}
                }
            }
        }
        prop_assert_eq!(s.state(), State::Open);
        for frame in wire.drain(..) {
            if let Some(wire::Frame::Data { seq, .. }) = wire::decode(&frame) {
                if seq > server_last {
                    server_last = seq;
                    let text = std::str::from_utf8(&frame[wire::HEADER_LEN..]).unwrap();
                    handed.push(text.split(':').next().unwrap().parse().unwrap());
                }
            }
        }
        for w in handed.windows(2) {
            prop_assert!(w[0] < w[1], "handed twice or out of order: {:?}", handed);
        }
        let handed: std::collections::BTreeSet<_> = handed.into_iter().collect();
        let lost: Vec<_> = accepted.iter().filter(|id| !handed.contains(id) && !dropped.contains(id)).collect();
        prop_assert!(lost.is_empty(), "lost {:?}", lost);
    }
}
