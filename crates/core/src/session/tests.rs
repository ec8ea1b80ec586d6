//! Fake-clock tests: time is a plain number the test advances.

use super::*;

/// A session whose jitter draws are `units`, cycled.
pub(super) fn session(config: Config, units: &[f64]) -> Session {
    let units = units.to_vec();
    let mut i = 0;
    Session::with_random(
        config,
        Box::new(move || {
            let u = units[i % units.len()];
            i += 1;
            u
        }),
    )
}

pub(super) fn drain(s: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn no_heartbeat() -> Config {
    Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::Off,
            ..Heartbeat::default()
        },
        ..Config::default()
    }
}

/// Runs the clock until the next `Connect` and returns (time, attempt).
fn run_to_connect(s: &mut Session, mut now: u64) -> (u64, u32) {
    for _ in 0..10 {
        for a in drain(s) {
            if let Action::Connect { attempt } = a {
                return (now, attempt);
            }
        }
        now = s.next_deadline().expect("a deadline while reconnecting");
        s.tick(now);
    }
    panic!("no Connect");
}

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

#[test]
fn backoff_sequence_is_exponential_and_capped() {
    let mut s = session(
        Config {
            max_delay_ms: 10_000,
            ..no_heartbeat()
        },
        &[0.999_999],
    );
    s.start(0);
    let mut now = 0;
    let mut delays = vec![];
    for expected_attempt in 0..7 {
        let (t, attempt) = run_to_connect(&mut s, now);
        assert_eq!(attempt, expected_attempt);
        now = t + 5; // fails right away
        s.closed(now, None);
        let acts = drain(&mut s);
        match acts.as_slice() {
            [Action::Reconnecting {
                attempt,
                delay_ms,
                at,
            }] => {
                assert_eq!(*attempt, expected_attempt + 1);
                assert_eq!(*at, now + delay_ms);
                delays.push(*delay_ms);
            }
            other => panic!("{other:?}"),
        }
        s.tick(now + 1);
        assert_eq!(s.state(), State::Waiting);
        now = s.next_deadline().unwrap();
        s.tick(now);
    }
    // unit ≈ 1 → each delay is (just under) the cap: 2 s, 4 s, 8 s, then 10 s max.
    assert_eq!(delays, vec![1999, 3999, 7999, 9999, 9999, 9999, 9999]);
}

#[test]
fn jitter_stays_within_bounds_and_varies() {
    let mut seen = std::collections::BTreeSet::new();
    let mut rnd = default_random();
    for n in 1..12 {
        for _ in 0..200 {
            let d = backoff_delay(500, 20_000, 2.0, n, rnd());
            assert!(
                d >= 500 && d <= backoff_cap(500, 20_000, 2.0, n),
                "retry {n}: {d}"
            );
            seen.insert(d);
        }
    }
    assert!(seen.len() > 100, "full jitter spreads the delays");
    assert_eq!(backoff_delay(500, 20_000, 2.0, 3, 0.0), 500);
    assert_eq!(backoff_cap(500, 20_000, 2.0, 3), 4000);
    assert_eq!(
        backoff_cap(500, 20_000, 2.0, 200),
        20_000,
        "no overflow for large n"
    );
}

#[test]
fn max_retries_gives_up() {
    let mut s = session(
        Config {
            max_retries: Some(2),
            ..no_heartbeat()
        },
        &[0.0],
    );
    s.start(0);
    let mut now = 0;
    for _ in 0..3 {
        let (t, _) = run_to_connect(&mut s, now);
        now = t + 1;
        s.closed(now, None);
    }
    let acts = drain(&mut s);
    assert_eq!(acts, vec![Action::Ended(EndReason::MaxRetries)]);
    assert_eq!(s.state(), State::Closed);
    assert_eq!(s.next_deadline(), None);
}

#[test]
fn min_uptime_resets_the_backoff() {
    let mut s = session(no_heartbeat(), &[0.0]);
    s.start(0);
    drain(&mut s);
    s.closed(10, None);
    run_to_connect(&mut s, 10);
    s.closed(1100, None); // second failure
    assert_eq!(s.retry_count(), 2);
    let (t, attempt) = run_to_connect(&mut s, 1100);
    assert_eq!(attempt, 2);
    s.opened(t + 10, "");
    // Short-lived link: the backoff keeps growing.
    s.closed(t + 100, Some(1006));
    assert_eq!(s.retry_count(), 3);
    let (t, _) = run_to_connect(&mut s, t + 100);
    s.opened(t, "");
    // Stable link (≥ min_uptime): the next drop starts over at retry 1.
    s.closed(t + 5_000, None);
    assert_eq!(s.retry_count(), 1);
}

#[test]
fn connection_timeout_aborts_and_retries() {
    let mut s = session(
        Config {
            connect_timeout_ms: 3_000,
            ..no_heartbeat()
        },
        &[0.0],
    );
    s.start(0);
    assert_eq!(drain(&mut s), vec![Action::Connect { attempt: 0 }]);
    assert_eq!(s.next_deadline(), Some(3_000));
    s.tick(2_999);
    assert!(drain(&mut s).is_empty());
    s.tick(3_000);
    let acts = drain(&mut s);
    assert!(
        matches!(
            &acts[0],
            Action::Abort {
                code: CONNECT_TIMEOUT_CODE,
                ..
            }
        ),
        "{acts:?}"
    );
    assert!(matches!(
        acts[1],
        Action::Reconnecting {
            attempt: 1,
            delay_ms: 1_000,
            at: 4_000
        }
    ));
    // The aborted transport's late reports are ignored.
    s.opened(3_500, "");
    s.closed(3_600, None);
    assert_eq!(s.state(), State::Waiting);
    assert!(drain(&mut s).is_empty());
    s.tick(4_000);
    assert_eq!(drain(&mut s), vec![Action::Connect { attempt: 1 }]);
}

#[test]
fn no_reconnect_after_user_close() {
    let mut s = session(no_heartbeat(), &[0.0]);
    s.start(0);
    s.opened(10, "");
    drain(&mut s);
    s.close(20, 1000, "bye");
    assert_eq!(
        drain(&mut s),
        vec![Action::Close {
            code: 1000,
            reason: "bye".into()
        }]
    );
    assert_eq!(s.state(), State::Closing);
    assert_eq!(s.send(21, text("late")), Err(SendError::Closed));
    s.closed(30, Some(1000));
    assert_eq!(drain(&mut s), vec![Action::Ended(EndReason::UserClose)]);
    s.tick(100_000);
    assert_eq!(s.next_deadline(), None);
    assert!(drain(&mut s).is_empty());
}

#[test]
fn close_while_waiting_cancels_the_retry_and_drops_the_queue() {
    let mut s = session(no_heartbeat(), &[0.0]);
    s.start(0);
    s.closed(5, None);
    s.send(6, text("a")).unwrap();
    drain(&mut s);
    s.close(7, 1000, "");
    assert_eq!(
        drain(&mut s),
        vec![
            Action::Dropped {
                msg: text("a"),
                reason: DropReason::Closed
            },
            Action::Ended(EndReason::UserClose)
        ]
    );
    s.tick(10_000);
    assert!(drain(&mut s).is_empty());
}

#[test]
fn close_code_policy() {
    let p = ClosePolicy::default();
    for code in [
        None,
        Some(1000),
        Some(1001),
        Some(1005),
        Some(1006),
        Some(1011),
        Some(1012),
        Some(1013),
        Some(1014),
        Some(4000),
    ] {
        assert!(p.should_reconnect(code), "{code:?}");
    }
    for code in [1002, 1003, 1007, 1008] {
        assert!(!p.should_reconnect(Some(code)), "{code}");
    }
    let p = ClosePolicy {
        reconnect_app_codes: false,
        ..ClosePolicy::default()
    };
    assert!(!p.should_reconnect(Some(4321)));

    let mut s = session(no_heartbeat(), &[0.0]);
    s.start(0);
    s.opened(1, "");
    s.send(2, text("x")).unwrap();
    drain(&mut s);
    s.closed(3, Some(1008));
    assert_eq!(
        drain(&mut s),
        vec![Action::Ended(EndReason::CloseCode(1008))]
    );
    assert_eq!(s.state(), State::Closed);
}

#[test]
fn protocol_ping_measures_rtt_and_timeout_reconnects() {
    let cfg = Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::ProtocolPing,
            interval_ms: 1_000,
            timeout_ms: 500,
        },
        ..Config::default()
    };
    let mut s = session(cfg, &[0.0]);
    s.start(0);
    s.opened(0, "");
    drain(&mut s);
    assert_eq!(s.next_deadline(), Some(1_000));
    s.tick(1_000);
    assert_eq!(drain(&mut s), vec![Action::Ping]);
    assert_eq!(s.next_deadline(), Some(1_500));
    s.pong_received(1_042);
    assert_eq!(s.rtt(), Some(42));
    assert_eq!(s.next_deadline(), Some(2_000));
    s.tick(2_000);
    assert_eq!(drain(&mut s), vec![Action::Ping]);
    // Traffic that is not the answer does not satisfy the heartbeat.
    assert_eq!(s.received(2_100, b"chat", true), Received::Message);
    s.tick(2_499);
    assert!(drain(&mut s).is_empty());
    s.tick(2_500);
    let acts = drain(&mut s);
    assert_eq!(acts[0], Action::HeartbeatTimeout);
    assert!(matches!(
        &acts[1],
        Action::Abort {
            code: HEARTBEAT_TIMEOUT_CODE,
            ..
        }
    ));
    assert!(matches!(acts[2], Action::Reconnecting { attempt: 1, .. }));
    let (_, attempt) = run_to_connect(&mut s, 2_500);
    assert_eq!(attempt, 1);
}

#[test]
fn app_ping_swallows_the_reply() {
    let cfg = Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::AppPing {
                ping: text("__ping__"),
                pong: text("__pong__"),
            },
            interval_ms: 100,
            timeout_ms: 50,
        },
        ..Config::default()
    };
    let mut s = session(cfg, &[0.0]);
    s.start(0);
    s.opened(0, "");
    drain(&mut s);
    s.tick(100);
    assert_eq!(drain(&mut s), vec![Action::SendHeartbeat(text("__ping__"))]);
    assert_eq!(s.received(110, b"hello", true), Received::Message);
    assert!(
        s.received(111, b"__pong__", false) == Received::Message,
        "binary does not match a text reply"
    );
    assert_eq!(s.received(117, b"__pong__", true), Received::HeartbeatReply);
    assert_eq!(s.rtt(), Some(17));
    s.tick(200);
    assert_eq!(drain(&mut s), vec![Action::SendHeartbeat(text("__ping__"))]);
}

#[test]
fn expect_traffic_mode() {
    let cfg = Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::ExpectTraffic,
            interval_ms: 0,
            timeout_ms: 1_000,
        },
        ..Config::default()
    };
    let mut s = session(cfg, &[0.0]);
    s.start(0);
    s.opened(0, "");
    drain(&mut s);
    s.received(800, b"tick", true);
    assert_eq!(s.next_deadline(), Some(1_800));
    s.tick(1_000);
    assert!(drain(&mut s).is_empty(), "nothing is sent in this mode");
    s.tick(1_800);
    assert_eq!(drain(&mut s)[0], Action::HeartbeatTimeout);
    assert_eq!(s.state(), State::Waiting);
}

#[test]
fn wake_probes_an_open_link_and_skips_a_backoff_wait() {
    let cfg = Config {
        heartbeat: Heartbeat {
            mode: HeartbeatMode::ProtocolPing,
            interval_ms: 30_000,
            timeout_ms: 2_000,
        },
        ..Config::default()
    };
    let mut s = session(cfg, &[0.9]);
    s.start(0);
    s.opened(0, "");
    drain(&mut s);
    s.wake(100);
    assert_eq!(drain(&mut s), vec![Action::Ping]);
    assert_eq!(
        s.next_deadline(),
        Some(2_100),
        "the probe's timeout is armed"
    );
    s.tick(2_100);
    drain(&mut s);
    assert_eq!(s.state(), State::Waiting);
    s.wake(2_200);
    assert_eq!(drain(&mut s), vec![Action::Connect { attempt: 1 }]);
}

#[test]
fn queue_flushes_in_order_exactly_once() {
    let mut s = session(no_heartbeat(), &[0.0]);
    s.send(0, text("before start")).unwrap();
    s.start(0);
    s.send(1, text("a")).unwrap();
    s.send(2, Message::Binary(vec![1, 2, 3])).unwrap();
    assert_eq!(s.queued_len(), 3);
    assert_eq!(s.queued_bytes(), 12 + 1 + 3);
    assert_eq!(drain(&mut s), vec![Action::Connect { attempt: 0 }]);
    s.opened(10, "");
    assert_eq!(
        drain(&mut s),
        vec![
            Action::Send(text("before start")),
            Action::Send(text("a")),
            Action::Send(Message::Binary(vec![1, 2, 3]))
        ]
    );
    assert_eq!(s.queued_len(), 0);
    s.send(11, text("live")).unwrap();
    assert_eq!(drain(&mut s), vec![Action::Send(text("live"))]);
    // Drop, queue while down, reconnect: only the new messages go out, once.
    s.closed(20, None);
    s.send(21, text("b")).unwrap();
    s.send(22, text("c")).unwrap();
    run_to_connect(&mut s, 22);
    s.opened(2_000, "");
    assert_eq!(
        drain(&mut s),
        vec![Action::Send(text("b")), Action::Send(text("c"))]
    );
    s.closed(2_010, None);
    run_to_connect(&mut s, 2_010);
    s.opened(5_000, "");
    assert!(drain(&mut s).is_empty(), "nothing is sent twice");
}

fn queued_session(max_messages: usize, max_bytes: usize, overflow: Overflow) -> Session {
    let mut s = session(
        Config {
            queue: QueueConfig {
                max_messages,
                max_bytes,
                overflow,
            },
            ..no_heartbeat()
        },
        &[0.0],
    );
    s.start(0);
    drain(&mut s);
    s
}

#[test]
fn queue_overflow_drop_oldest() {
    let mut s = queued_session(2, 100, Overflow::DropOldest);
    for m in ["1", "2", "3"] {
        s.send(1, text(m)).unwrap();
    }
    assert_eq!(
        drain(&mut s),
        vec![Action::Dropped {
            msg: text("1"),
            reason: DropReason::QueueFull
        }]
    );
    // Byte bound: a 99-byte message evicts only as much as it needs ("2").
    s.send(2, text(&"x".repeat(99))).unwrap();
    assert_eq!(
        drain(&mut s),
        vec![Action::Dropped {
            msg: text("2"),
            reason: DropReason::QueueFull
        }]
    );
    assert_eq!(s.queued_len(), 2);
    assert_eq!(s.queued_bytes(), 100);
    s.send(3, text(&"y".repeat(101))).unwrap();
    assert!(matches!(
        drain(&mut s)[..],
        [Action::Dropped {
            reason: DropReason::TooLarge,
            ..
        }]
    ));
    s.opened(4, "");
    assert_eq!(
        drain(&mut s),
        vec![Action::Send(text("3")), Action::Send(text(&"x".repeat(99)))]
    );
}

#[test]
fn queue_overflow_drop_newest() {
    let mut s = queued_session(2, 100, Overflow::DropNewest);
    for m in ["1", "2", "3"] {
        s.send(1, text(m)).unwrap();
    }
    assert_eq!(
        drain(&mut s),
        vec![Action::Dropped {
            msg: text("3"),
            reason: DropReason::QueueFull
        }]
    );
    s.opened(4, "");
    assert_eq!(
        drain(&mut s),
        vec![Action::Send(text("1")), Action::Send(text("2"))]
    );
}

#[test]
fn queue_overflow_error() {
    let mut s = queued_session(1, 10, Overflow::Error);
    s.send(1, text("1")).unwrap();
    assert_eq!(s.send(1, text("2")), Err(SendError::QueueFull));
    assert_eq!(s.send(1, text(&"z".repeat(11))), Err(SendError::TooLarge));
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.queued_len(), 1);
}

#[test]
fn user_reconnect_resets_backoff_and_revives_a_closed_session() {
    let mut s = session(no_heartbeat(), &[0.0]);
    s.start(0);
    s.opened(1, "");
    drain(&mut s);
    s.reconnect(5);
    assert_eq!(
        drain(&mut s),
        vec![
            Action::Abort {
                code: RECONNECT_CODE,
                reason: "reconnect".into()
            },
            Action::Connect { attempt: 0 }
        ]
    );
    s.opened(6, "");
    s.close(7, 1000, "");
    s.closed(8, Some(1000));
    drain(&mut s);
    s.reconnect(9);
    assert_eq!(drain(&mut s), vec![Action::Connect { attempt: 0 }]);
    assert_eq!(s.state().ready_state(), 0);
}
