//! The link is the session behind numbers and bytes; these run natively (the module imports
//! nothing, so it needs no browser). The JS side is tested in tests/browser/.

use ferrosocket_web_link::{link_free, link_new, link_num, op, value, Link};

fn opt(link: &mut Link, key: &str, kind: u8, v: &[u8], n: f64) -> Option<&'static str> {
    let input = [key.as_bytes(), v].concat();
    link.opt(&input, key.len(), kind, n)
}

fn out(link: &Link, op: u8) -> Option<String> {
    link.out(op).map(|b| String::from_utf8(b.to_vec()).unwrap())
}

#[test]
fn link_is_the_session_behind_numbers_and_bytes() {
    let mut link = Link::default();
    assert_eq!(opt(&mut link, "minDelay", value::NUMBER, &[], 50.0), None);
    let bad = opt(&mut link, "overflow", value::TEXT, b"drop-all", 0.0);
    assert!(bad.unwrap().contains("drop-oldest"), "the core's message");
    let codes: Vec<u8> = [4001.0f64, 4002.0]
        .iter()
        .flat_map(|c| c.to_le_bytes())
        .collect();
    assert_eq!(
        opt(&mut link, "stopCodes", value::NUMBERS, &codes, 0.0),
        None
    );
    assert_eq!(
        opt(&mut link, "acknowledged", value::NUMBER, &[], 1.0),
        None
    );
    // START: the session id, then the jitter's seed.
    let start = [[7u8; 16].as_slice(), &[1; 8]].concat();
    assert_eq!(link.put(op::START, 0.0, 0.0, &start, false), 0.0);
    assert_eq!(link.num(op::NEXT, 0.0, 0.0), 1.0, "connect");
    assert_eq!(out(&link, op::ACK).as_deref(), Some("ferrosocket.ack.v1"));
    assert_eq!(link.num(op::ADMIT, 1.0, 3.0), 0.0);
    link.put(op::SEND, 1.0, 0.0, b"abc", true);
    assert_eq!(
        link.num(op::STATUS + 3, 0.0, 0.0),
        1.0,
        "one message queued"
    );
    link.put(op::OPENED, 2.0, 0.0, b"ferrosocket.ack.v1", true);
    assert_eq!(out(&link, op::STATE).as_deref(), Some("open"));
    assert_eq!(link.num(op::NEXT, 0.0, 0.0), 2.0, "send: HELLO");
    assert_eq!(link.out(op::TEXT), None, "binary");
    let hello = link.out(op::DATA).unwrap();
    assert_eq!(
        (hello[0], &hello[1..17]),
        (1, &[7u8; 16][..]),
        "the id given"
    );
    assert_eq!(link.num(op::NEXT, 0.0, 0.0), 2.0, "send: the message");
    assert_eq!(
        link.out(op::DATA).unwrap(),
        [3, 0, 0, 0, 0, 0, 0, 0, 1, b'a', b'b', b'c']
    );
    assert_eq!(link.num(op::NEXT, 0.0, 0.0), 0.0);
    // The server acknowledges it; a server message is delivered from byte 9 as text.
    assert_eq!(
        link.put(op::IN, 3.0, 0.0, &[2, 0, 0, 0, 0, 0, 0, 0, 1], false),
        0.0
    );
    assert_eq!(link.num(op::STATUS + 3, 0.0, 0.0), 0.0);
    let r = link.put(op::IN, 4.0, 0.0, &[3, 0, 0, 0, 0, 0, 0, 0, 1, b'h'], false);
    assert_eq!(r, (9 << 1 | 1) as f64);
    assert_eq!(link.num(op::NEXT, 0.0, 0.0), 2.0, "the ack");
    // CLOSING: a send waits for the next link.
    link.num(op::CLOSING, 5.0, 0.0);
    assert_eq!(link.num(op::STATUS, 0.0, 0.0), 2.0, "readyState CLOSING");
    // Too large for the queue (1 MiB by default): refused before any copy.
    assert_eq!(link.num(op::ADMIT, 6.0, (2 << 20) as f64), 3.0);
    assert_eq!(out(&link, op::REFUSAL).as_deref(), Some("too-large"));
    link.put(op::CLOSE, 7.0, 1000.0, b"bye", true);
    assert_eq!(link.num(op::NEXT, 0.0, 0.0), 4.0, "close");
    assert_eq!(
        (link.num(op::A, 0.0, 0.0), out(&link, op::REASON).as_deref()),
        (1000.0, Some("bye"))
    );
}

#[test]
fn a_bad_option_fails_start_with_the_cores_message() {
    let mut link = Link::default();
    assert!(opt(&mut link, "heartbeat.mode", value::TEXT, b"ping", 0.0).is_none());
    assert_eq!(link.put(op::START, 0.0, 0.0, &[0; 24], false), 1.0);
    assert!(out(&link, op::ERROR).is_some_and(|e| e.contains("browsers cannot send ping")));
    assert_eq!(link.num(op::NEXT, 0.0, 0.0), -1.0, "no session");
}

#[test]
fn jitter_spreads_reconnect_delays_by_seed() {
    // Two links with different seeds wait different times before their second attempt.
    let delay = |seed: u8| {
        let mut link = Link::default();
        opt(&mut link, "minDelay", value::NUMBER, &[], 1000.0);
        link.put(
            op::START,
            0.0,
            0.0,
            &[[0u8; 16].as_slice(), &[seed; 8]].concat(),
            false,
        );
        assert_eq!(link.num(op::NEXT, 0.0, 0.0), 1.0, "connect");
        link.num(op::CLOSED, 1.0, -1.0);
        while link.num(op::NEXT, 1.0, 0.0) != 6.0 {}
        link.num(op::B, 0.0, 0.0)
    };
    let (a, b) = (delay(1), delay(2));
    assert!(a != b && a > 0.0 && b > 0.0, "{a} {b}");
}

#[test]
fn handles_are_reused_and_a_freed_one_does_nothing() {
    let a = link_new();
    let b = link_new();
    assert_ne!(a, b);
    link_free(a);
    assert_eq!(
        link_num(a, u32::from(op::STATUS), 0.0, 0.0),
        0.0,
        "freed: nothing"
    );
    assert_eq!(
        link_num(0, u32::from(op::STATUS), 0.0, 0.0),
        0.0,
        "0 is never a link"
    );
    assert_eq!(link_new(), a, "the free slot");
    assert_eq!(
        link_num(b, u32::from(op::STATUS), 0.0, 0.0),
        -1.0,
        "not started"
    );
    link_free(b);
    link_free(a);
}
