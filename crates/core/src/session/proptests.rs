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
