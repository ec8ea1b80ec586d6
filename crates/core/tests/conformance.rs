//! Connection-level tests named after the Autobahn|Testsuite sections they mirror
//! (see shared/conformance.md) and the RFC rules behind them. Each scenario is fed
//! whole, in 997-byte chops and one byte at a time: the outcome must not change.

//!
//! Only the public API is used; frames are built and decoded by the small independent
//! codec in `wire` below (RFC 6455 §5.2), not by the crate's own frame writer.

use ferrosocket_core::{
    Config, Connection, DataKind, OwnedEvent, ProtocolError as Error, Role, SendOptions, State,
    UsageError,
};
use proptest::prelude::*;

/// A test-side frame codec (RFC 6455 §5.2), independent of the crate's.
mod wire {
    pub struct Header {
        pub opcode: u8,
        pub mask: Option<[u8; 4]>,
        pub payload_len: u64,
    }

    pub fn encode(op: u8, fin: bool, rsv1: bool, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(fin as u8) << 7 | (rsv1 as u8) << 6 | op];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(m | n as u8),
            n @ 126..=0xffff => {
                out.push(m | 126);
                out.extend((n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend((n as u64).to_be_bytes());
            }
        }
        let start = out.len() + if mask.is_some() { 4 } else { 0 };
        if let Some(k) = mask {
            out.extend(k);
        }
        out.extend_from_slice(payload);
        if let Some(k) = mask {
            for (i, b) in out[start..].iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        out
    }

    /// A header at the start of `buf` and its length, or `None` if it is cut.
    pub fn decode(buf: &[u8]) -> Option<(Header, usize)> {
        if buf.len() < 2 {
            return None;
        }
        let masked = buf[1] & 0x80 != 0;
        let (ext, short) = match buf[1] & 0x7f {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(n as u64)),
        };
        let n = 2 + ext + if masked { 4 } else { 0 };
        if buf.len() < n {
            return None;
        }
        let payload_len = short.unwrap_or_else(|| {
            buf[2..2 + ext]
                .iter()
                .fold(0u64, |acc, b| acc << 8 | u64::from(*b))
        });
        let mask = masked.then(|| [buf[2 + ext], buf[3 + ext], buf[4 + ext], buf[5 + ext]]);
        Some((
            Header {
                opcode: buf[0] & 0x0f,
                mask,
                payload_len,
            },
            n,
        ))
    }
}

/// A frame as a client sends it (masked).
fn frame(op: u8, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    wire::encode(op, fin, rsv1, Some([9, 8, 7, 6]), payload)
}

#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<OwnedEvent>,
    error: Option<Error>,
    /// Frames the server wrote back, decoded: (opcode, payload).
    replies: Vec<(u8, Vec<u8>)>,
}

fn decode_replies(mut out: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut v = Vec::new();
    while let Some((h, n)) = wire::decode(out) {
        assert!(h.mask.is_none(), "servers do not mask");
        let end = n + h.payload_len as usize;
        v.push((h.opcode, out[n..end].to_vec()));
        out = &out[end..];
    }
    v
}

fn run_with(config: Config, input: &[u8], chunk: usize) -> Outcome {
    let mut server = Connection::new(Role::Server, config);
    let mut events = Vec::new();
    let mut error = None;
    for piece in input.chunks(chunk.max(1)) {
        if let Err(e) = server.feed_owned(piece, &mut events) {
            error = Some(e);
            break;
        }
    }
    Outcome {
        events,
        error,
        replies: decode_replies(server.output()),
    }
}

/// Runs `input` whole, in 997-byte chops and octet-wise, checks all three agree.
fn run(input: &[u8]) -> Outcome {
    let whole = run_with(Config::default(), input, input.len());
    for chunk in [997, 1] {
        assert_eq!(
            run_with(Config::default(), input, chunk),
            whole,
            "chop {chunk}"
        );
    }
    whole
}

fn close_code(o: &Outcome) -> Option<u16> {
    o.replies
        .iter()
        .find(|(op, _)| *op == 8)
        .map(|(_, p)| u16::from_be_bytes([p[0], p[1]]))
}

#[test]
fn autobahn_1_framing_sizes_text_and_binary() {
    for len in [0usize, 125, 126, 127, 128, 65535, 65536] {
        let text = "*".repeat(len);
        let o = run(&frame(1, true, false, text.as_bytes()));
        assert_eq!(o.events, vec![OwnedEvent::Text(text.clone())]);
        let bin = vec![0xfe; len];
        let o = run(&frame(2, true, false, &bin));
        assert_eq!(o.events, vec![OwnedEvent::Binary(bin)]);
    }
}

#[test]
fn autobahn_2_ping_pong() {
    let o = run(&frame(9, true, false, b"hello"));
    assert_eq!(o.replies, vec![(0xa, b"hello".to_vec())]);
    let o = run(&frame(9, true, false, &[0xff; 125]));
    assert_eq!(o.replies, vec![(0xa, vec![0xff; 125])]);
    // 2.5: a 126-byte ping is a protocol error.
    let o = run(&frame(9, true, false, &[0; 126]));
    assert_eq!(o.error, Some(Error::InvalidControlLength(126)));
    assert_eq!(close_code(&o), Some(1002));
    // 2.7: unsolicited pong → nothing.
    let o = run(&frame(0xa, true, false, b"x"));
    assert!(o.replies.is_empty() && o.error.is_none());
    // 2.10: ten pings, ten pongs in order.
    let input: Vec<u8> = (0..10u8)
        .flat_map(|i| frame(9, true, false, &[i]))
        .collect();
    let o = run(&input);
    assert_eq!(
        o.replies,
        (0..10u8).map(|i| (0xa, vec![i])).collect::<Vec<_>>()
    );
}

#[test]
fn autobahn_3_reserved_bits() {
    let mut input = frame(1, true, false, b"ok");
    let mut bad = frame(1, true, false, b"x");
    bad[0] |= 0x20; // RSV2
    input.extend(bad);
    input.extend(frame(9, true, false, b"p"));
    let o = run(&input);
    assert_eq!(o.events, vec![OwnedEvent::Text("ok".into())]);
    assert_eq!(o.error, Some(Error::Rsv23Set));
    assert_eq!(
        o.replies,
        vec![(8, 1002u16.to_be_bytes().to_vec())],
        "no pong after failing"
    );
    // RSV1 without deflate.
    assert_eq!(run(&frame(1, true, true, b"x")).error, Some(Error::Rsv1Set));
}

#[test]
fn autobahn_4_reserved_opcodes() {
    for op in [3u8, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
        for payload in [&b""[..], b"abc"] {
            let mut input = frame(1, true, false, b"first");
            input.extend(frame(op, true, false, payload));
            let o = run(&input);
            assert_eq!(o.events.len(), 1);
            assert_eq!(o.error, Some(Error::InvalidOpcode(op)));
            assert_eq!(close_code(&o), Some(1002));
        }
    }
}

#[test]
fn autobahn_5_fragmentation() {
    // 5.3-5.6: fragmented text, pings in between answered before the message ends.
    let mut input = frame(1, false, false, b"frag");
    input.extend(frame(9, true, false, b"ping"));
    input.extend(frame(0, false, false, b"men"));
    input.extend(frame(0, true, false, b"ted"));
    let o = run(&input);
    assert_eq!(
        o.events,
        vec![
            OwnedEvent::Ping(b"ping".to_vec()),
            OwnedEvent::Text("fragmented".into())
        ]
    );
    assert_eq!(o.replies, vec![(0xa, b"ping".to_vec())]);
    // 5.19/5.20: the pong goes out before the message's last fragment has arrived.
    let mut server = Connection::new(Role::Server, Config::default());
    let mut ev = Vec::new();
    server
        .feed_owned(
            &[frame(1, false, false, b"a"), frame(9, true, false, b"p")].concat(),
            &mut ev,
        )
        .unwrap();
    assert_eq!(decode_replies(server.output()), vec![(0xa, b"p".to_vec())]);
    // 5.1/5.2: fragmented control frames.
    assert_eq!(
        run(&frame(9, false, false, b"x")).error,
        Some(Error::FragmentedControl)
    );
    // 5.9-5.12: continuation with nothing to continue.
    assert_eq!(
        run(&frame(0, true, false, b"x")).error,
        Some(Error::InvalidOpcode(0))
    );
    // 5.17/5.18: a new data frame inside a fragmented message.
    let input = [frame(1, false, false, b"a"), frame(1, true, false, b"b")].concat();
    assert_eq!(run(&input).error, Some(Error::InvalidOpcode(1)));
}

#[test]
fn autobahn_6_utf8_valid_and_invalid() {
    let valid = "κόσμε 𝄞 \u{FFFF} \u{10FFFF}";
    let o = run(&frame(1, true, false, valid.as_bytes()));
    assert_eq!(o.events, vec![OwnedEvent::Text(valid.into())]);
    for bad in [
        &[0xc0u8, 0x80][..],
        &[0xed, 0xa0, 0x80],
        &[0xf4, 0x90, 0x80, 0x80],
        &[0xce, 0xba, 0xe1],
    ] {
        let o = run(&frame(1, true, false, bad));
        assert_eq!(o.error, Some(Error::InvalidUtf8), "{bad:?}");
        assert_eq!(close_code(&o), Some(1007));
    }
}

#[test]
fn fragmented_text_is_validated_once_and_exactly() {
    // Multi-byte characters cut at every fragment and chop boundary arrive intact;
    // a message that is invalid only in its last byte is still refused.
    let text = "κόσμε 𝄞 ".repeat(40);
    let bytes = text.as_bytes();
    for size in [1, 2, 3, 5, 7, 64] {
        let pieces: Vec<&[u8]> = bytes.chunks(size).collect();
        let input: Vec<u8> = pieces
            .iter()
            .enumerate()
            .flat_map(|(i, p)| frame(if i == 0 { 1 } else { 0 }, i + 1 == pieces.len(), false, p))
            .collect();
        assert_eq!(
            run(&input).events,
            vec![OwnedEvent::Text(text.clone())],
            "fragments of {size}"
        );
    }
    let mut bad = bytes.to_vec();
    bad.push(0xce); // a cut sequence at the very end
    let input = [
        frame(1, false, false, &bad[..10]),
        frame(0, true, false, &bad[10..]),
    ]
    .concat();
    assert_eq!(run(&input).error, Some(Error::InvalidUtf8));
    // A single masked frame copied from read-only input takes the same path.
    assert_eq!(
        run_with(Config::default(), &frame(1, true, false, &bad), 1000).error,
        Some(Error::InvalidUtf8)
    );
}

#[test]
fn autobahn_6_4_fail_fast_across_fragments_and_within_a_frame() {
    // 6.4.1: the 2nd fragment makes the text invalid; the 3rd never needs to arrive.
    let mut server = Connection::new(Role::Server, Config::default());
    let mut ev = Vec::new();
    server
        .feed_owned(&frame(1, false, false, "κόσμε".as_bytes()), &mut ev)
        .unwrap();
    let e = server.feed_owned(&frame(0, false, false, &[0xf4, 0x90, 0x80, 0x80]), &mut ev);
    assert_eq!(e, Err(Error::InvalidUtf8));
    assert_eq!(server.state(), State::Closed);
    // 6.4.3: one frame, fed in chops: fails on the chop that holds the bad bytes.
    let mut payload = "κόσμε".as_bytes().to_vec();
    payload.extend([0xf4, 0x90, 0x80, 0x80]);
    payload.extend(b"edited");
    let input = frame(1, true, false, &payload);
    let bad_at = input.len() - 6 - 3; // the 0x90 byte
    let mut server = Connection::new(Role::Server, Config::default());
    assert!(server.feed_owned(&input[..bad_at], &mut ev).is_ok());
    assert_eq!(
        server.feed_owned(&input[bad_at..bad_at + 1], &mut ev),
        Err(Error::InvalidUtf8)
    );
}

#[test]
fn autobahn_7_close_handling() {
    // 7.1.1: message then close: echoed cleanly.
    let input = [
        frame(1, true, false, b"hi"),
        frame(8, true, false, &1000u16.to_be_bytes()),
    ]
    .concat();
    let o = run(&input);
    assert_eq!(
        o.events,
        vec![
            OwnedEvent::Text("hi".into()),
            OwnedEvent::Close {
                code: Some(1000),
                reason: String::new()
            }
        ]
    );
    assert_eq!(close_code(&o), Some(1000));
    // 7.1.2-7.1.5: nothing answered after a close.
    let input = [
        frame(8, true, false, &[]),
        frame(9, true, false, b"x"),
        frame(1, true, false, b"y"),
    ]
    .concat();
    let o = run(&input);
    assert_eq!(
        o.events,
        vec![OwnedEvent::Close {
            code: None,
            reason: String::new()
        }]
    );
    assert_eq!(o.replies, vec![(8, vec![])]);
    // 7.3.x: payload sizes.
    assert_eq!(
        run(&frame(8, true, false, &[3])).error,
        Some(Error::InvalidControlLength(1))
    );
    let mut p = 1000u16.to_be_bytes().to_vec();
    p.extend([b'r'; 123]);
    assert_eq!(close_code(&run(&frame(8, true, false, &p))), Some(1000));
    p.push(b'r');
    assert_eq!(
        run(&frame(8, true, false, &p)).error,
        Some(Error::InvalidControlLength(126))
    );
    // 7.5.1: invalid UTF-8 reason → 1007.
    let o = run(&frame(8, true, false, &[0x03, 0xe8, 0xff]));
    assert_eq!(
        (o.error.clone(), close_code(&o)),
        (Some(Error::InvalidUtf8), Some(1007))
    );
    // 7.7/7.9: valid codes echoed, invalid ones fail with 1002.
    for code in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
        4000, 4999,
    ] {
        assert_eq!(
            close_code(&run(&frame(8, true, false, &code.to_be_bytes()))),
            Some(code)
        );
    }
    for code in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        let o = run(&frame(8, true, false, &code.to_be_bytes()));
        assert_eq!(
            (o.error.clone(), close_code(&o)),
            (Some(Error::InvalidCloseCode(code)), Some(1002))
        );
    }
}

#[test]
fn rfc6455_5_5_1_replies_to_a_batch_go_out_before_the_close_reply() {
    // A message and a close in one read: the echo of the message precedes our close.
    let mut s = Connection::new(Role::Server, Config::default());
    let mut ev = Vec::new();
    let input = [
        frame(1, true, false, b"hi"),
        frame(8, true, false, &1000u16.to_be_bytes()),
    ]
    .concat();
    s.feed_owned(&input, &mut ev).unwrap();
    assert_eq!(s.state(), State::Closed);
    s.send_text("hi").unwrap();
    assert_eq!(
        decode_replies(s.output()),
        vec![(1, b"hi".to_vec()), (8, 1000u16.to_be_bytes().to_vec())]
    );
    assert_eq!(s.send_text("late"), Err(UsageError::NotOpen));
}

#[test]
fn autobahn_3_2_echo_of_a_message_before_a_violation_in_the_same_read() {
    // The valid message is answered before the close frame of the failure (Autobahn
    // 3.2, 4.1.3, 5.15 expect the echo), and nothing can be sent once it is out.
    let mut s = Connection::new(Role::Server, Config::default());
    let mut bad = frame(1, true, false, b"x");
    bad[0] |= 0x20; // RSV2
    let input = [frame(1, true, false, b"Hello"), bad].concat();
    let mut ev = Vec::new();
    assert_eq!(s.feed_owned(&input, &mut ev), Err(Error::Rsv23Set));
    assert_eq!(ev, vec![OwnedEvent::Text("Hello".into())]);
    assert_eq!(s.state(), State::Closed);
    s.send_text("Hello").unwrap();
    assert_eq!(
        decode_replies(s.output()),
        vec![(1, b"Hello".to_vec()), (8, 1002u16.to_be_bytes().to_vec())]
    );
    assert_eq!(s.send_text("late"), Err(UsageError::NotOpen));
}

#[test]
fn close_handshake_states() {
    let mut c = Connection::new(Role::Client, Config::default());
    let mut s = Connection::new(Role::Server, Config::default());
    assert_eq!(c.state(), State::Open);
    c.close(Some(1000), "bye").unwrap();
    assert_eq!(c.state(), State::Closing);
    assert_eq!(c.send_text("late"), Err(UsageError::NotOpen));
    let mut ev = Vec::new();
    s.feed_owned(&c.take_output(), &mut ev).unwrap();
    assert_eq!(
        ev,
        vec![OwnedEvent::Close {
            code: Some(1000),
            reason: "bye".into()
        }]
    );
    assert!(s.should_close_transport());
    c.feed_owned(&s.take_output(), &mut ev).unwrap();
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.close_received(), Some((Some(1000), "bye")));
    assert_eq!(c.close(Some(1000), ""), Ok(()), "closing twice is harmless");
    let mut d = Connection::new(Role::Client, Config::default());
    assert_eq!(
        d.close(Some(1006), ""),
        Err(UsageError::InvalidCloseCode(1006))
    );
    assert_eq!(
        d.close(Some(1000), &"x".repeat(124)),
        Err(UsageError::ReasonTooLong)
    );
    assert_eq!(d.ping(&[0; 126]), Err(UsageError::ControlTooLong));
}

#[test]
fn rfc6455_5_1_masking_rules() {
    let unmasked = wire::encode(1, true, false, None, b"x");
    assert_eq!(run(&unmasked).error, Some(Error::ExpectedMask));
    let mut client = Connection::new(Role::Client, Config::default());
    assert_eq!(
        client.feed_owned(&frame(1, true, false, b"x"), &mut Vec::new()),
        Err(Error::UnexpectedMask)
    );
}

#[test]
fn autobahn_9_limits() {
    let cfg = Config {
        max_message_size: 1000,
        max_fragments: 3,
        ..Config::default()
    };
    let o = run_with(cfg.clone(), &frame(2, true, false, &[0; 1001]), 1);
    assert_eq!(
        (o.error.clone(), close_code(&o)),
        (Some(Error::MessageTooBig), Some(1009))
    );
    let input = [
        frame(2, false, false, &[0; 600]),
        frame(0, true, false, &[0; 600]),
    ]
    .concat();
    assert_eq!(
        run_with(cfg.clone(), &input, 7).error,
        Some(Error::MessageTooBig)
    );
    let input: Vec<u8> = (0..4)
        .flat_map(|i| frame(if i == 0 { 2 } else { 0 }, i == 3, false, b"a"))
        .collect();
    assert_eq!(
        run_with(cfg, &input, 5).error,
        Some(Error::TooManyFragments)
    );
    // A header announcing a huge frame allocates nothing up front.
    let mut s = Connection::new(Role::Server, Config::default());
    s.feed(&frame(2, true, false, &[0; 100])[..8], |_| {})
        .unwrap();
    let mut huge = vec![0x82, 0xff, 0, 0, 0, 0, 0x03, 0xff, 0xff, 0xff, 1, 2, 3, 4];
    huge.truncate(14);
    let o = run(&huge);
    assert_eq!(o.error, None);
}

#[test]
fn autobahn_9_many_fragments_and_16_mib() {
    let mut input = frame(2, false, false, &[1; 64]);
    for i in 1..65_536 {
        input.extend(frame(0, i == 65_535, false, &[1; 64]));
    }
    let o = run_with(Config::default(), &input, 65536);
    assert_eq!(o.events, vec![OwnedEvent::Binary(vec![1; 64 * 65_536])]);
    let big = vec![7u8; 16 << 20];
    let o = run_with(Config::default(), &frame(2, true, false, &big), 128 * 1024);
    assert_eq!(o.events, vec![OwnedEvent::Binary(big)]);
}

#[test]
fn pending_auto_pongs_are_bounded() {
    let cfg = Config {
        max_pending_pongs: 3,
        ..Config::default()
    };
    let input: Vec<u8> = (0..10).flat_map(|_| frame(9, true, false, b"p")).collect();
    let o = run_with(cfg, &input, input.len());
    assert_eq!(o.events.len(), 10);
    assert_eq!(o.replies.len(), 3);
}

#[test]
fn skip_utf8_validation_delivers_unchecked_text() {
    let cfg = Config {
        validate_utf8: false,
        ..Config::default()
    };
    let o = run_with(cfg, &frame(1, true, false, &[0xff]), 100);
    assert_eq!(o.events, vec![OwnedEvent::UncheckedText(vec![0xff])]);
}

#[test]
fn idle_connection_holds_at_most_1_kib() {
    let mut s = Connection::new(Role::Server, Config::default());
    assert_eq!(s.buffered_heap_bytes(), 0);
    // 376 bytes: the buffers only permessage-deflate and `report_fragments` use are
    // boxed on first use (cold.rs).
    assert!(
        std::mem::size_of::<Connection>() <= 384,
        "{}",
        std::mem::size_of::<Connection>()
    );
    for len in [64usize, 16 << 10, 1 << 20] {
        s.feed(&frame(2, false, false, &vec![1; len]), |_| {})
            .unwrap();
        s.feed(&frame(0, true, false, b"x"), |_| {}).unwrap();
        s.send_binary(&vec![2; len]).unwrap();
        let n = s.output().len();
        s.consume_output(n);
        assert!(
            s.buffered_heap_bytes() <= 1024,
            "after {len}: {}",
            s.buffered_heap_bytes()
        );
    }
}

#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use ferrosocket_core::deflate::DeflateConfig;

    fn pair(client_cfg: DeflateConfig, server_cfg: DeflateConfig) -> (Connection, Connection) {
        let (sp, resp) = server_cfg.accept(&client_cfg.offer()).unwrap().unwrap();
        let cp = client_cfg.accept_response(&resp).unwrap();
        let cfg = Config {
            compress_threshold: 0,
            ..Config::default()
        };
        (
            Connection::with_deflate(Role::Client, cfg.clone(), Some(cp)),
            Connection::with_deflate(Role::Server, cfg, Some(sp)),
        )
    }

    fn pass(from: &mut Connection, to: &mut Connection) -> Vec<OwnedEvent> {
        let mut ev = Vec::new();
        let bytes = from.take_output();
        for piece in bytes.chunks(333) {
            to.feed_owned(piece, &mut ev).unwrap();
        }
        ev
    }

    #[test]
    fn autobahn_12_13_compressed_both_ways_every_parameter_combination() {
        let msgs: Vec<String> = (0..50)
            .map(|i| {
                format!(
                    "{{\"n\":{i},\"text\":\"{}\"}}",
                    "lorem ipsum ".repeat(i * 10)
                )
            })
            .collect();
        for nct in [false, true] {
            for bits in [None, Some(9), Some(15)] {
                let c = DeflateConfig {
                    client_no_context_takeover: nct,
                    server_no_context_takeover: nct,
                    server_max_window_bits: bits,
                    client_max_window_bits: bits,
                    zlib: Default::default(),
                };
                let (mut client, mut server) = pair(
                    c.clone(),
                    DeflateConfig {
                        client_max_window_bits: bits,
                        ..Default::default()
                    },
                );
                for m in &msgs {
                    client.send_text(m).unwrap();
                    assert_eq!(client.output()[0] & 0x40, 0x40, "RSV1 set");
                    let ev = pass(&mut client, &mut server);
                    assert_eq!(ev, vec![OwnedEvent::Text(m.clone())]);
                    server.send_text(m).unwrap();
                    assert_eq!(
                        pass(&mut server, &mut client),
                        vec![OwnedEvent::Text(m.clone())]
                    );
                }
            }
        }
    }

    #[test]
    fn autobahn_12_fragmented_compressed_message() {
        let (mut client, mut server) = pair(DeflateConfig::default(), DeflateConfig::default());
        let part = "abcdefgh".repeat(500);
        for i in 0..4 {
            let opts = SendOptions {
                fin: i == 3,
                ..SendOptions::default()
            };
            client.send(DataKind::Text, part.as_bytes(), opts).unwrap();
        }
        assert_eq!(
            pass(&mut client, &mut server),
            vec![OwnedEvent::Text(part.repeat(4))]
        );
    }

    #[test]
    fn inflated_size_is_limited() {
        let (mut client, _) = pair(DeflateConfig::default(), DeflateConfig::default());
        let sp = DeflateConfig::default()
            .accept("permessage-deflate")
            .unwrap()
            .unwrap()
            .0;
        let mut server = Connection::with_deflate(
            Role::Server,
            Config {
                max_message_size: 10_000,
                ..Config::default()
            },
            Some(sp),
        );
        client.send_binary(&vec![0u8; 1 << 20]).unwrap();
        let r = server.feed_owned(&client.take_output(), &mut Vec::new());
        assert_eq!(r, Err(Error::MessageTooBig));
        assert_eq!(
            decode_replies(server.output()),
            vec![(8, 1009u16.to_be_bytes().to_vec())]
        );
    }

    #[test]
    fn rfc7692_6_1_rsv1_on_continuation_is_an_error() {
        let (_, mut server) = pair(DeflateConfig::default(), DeflateConfig::default());
        let input = [frame(1, false, false, b"a"), frame(0, true, true, b"b")].concat();
        assert_eq!(
            server.feed_owned(&input, &mut Vec::new()),
            Err(Error::Rsv1Set)
        );
    }
}

/// A message a client may send, for the property tests.
#[derive(Debug, Clone)]
enum Msg {
    Text(String, usize),
    Binary(Vec<u8>, usize),
    Ping(Vec<u8>),
}

fn msg_strategy() -> impl Strategy<Value = Msg> {
    prop_oneof![
        (".{0,300}", 1usize..4).prop_map(|(s, n)| Msg::Text(s, n)),
        (proptest::collection::vec(any::<u8>(), 0..3000), 1usize..4)
            .prop_map(|(b, n)| Msg::Binary(b, n)),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(Msg::Ping),
    ]
}

fn encode(msgs: &[Msg]) -> Vec<u8> {
    let mut c = Connection::new(Role::Client, Config::default());
    for m in msgs {
        match m {
            Msg::Ping(p) => {
                c.ping(p).unwrap();
            }
            Msg::Text(_, n) | Msg::Binary(_, n) if *n > 1 => {
                let (kind, bytes) = match m {
                    Msg::Text(s, _) => (DataKind::Text, s.as_bytes().to_vec()),
                    Msg::Binary(b, _) => (DataKind::Binary, b.clone()),
                    _ => unreachable!(),
                };
                let size = bytes.len().div_ceil(*n).max(1);
                let chunks: Vec<&[u8]> = if bytes.is_empty() {
                    vec![&[][..]]
                } else {
                    bytes.chunks(size).collect()
                };
                for (i, ch) in chunks.iter().enumerate() {
                    let fin = i + 1 == chunks.len();
                    c.send(
                        kind,
                        ch,
                        SendOptions {
                            fin,
                            ..SendOptions::default()
                        },
                    )
                    .unwrap();
                }
            }
            Msg::Text(s, _) => {
                c.send_text(s).unwrap();
            }
            Msg::Binary(b, _) => {
                c.send_binary(b).unwrap();
            }
        }
    }
    c.take_output()
}

fn expected(msgs: &[Msg]) -> Vec<OwnedEvent> {
    msgs.iter()
        .map(|m| match m {
            Msg::Text(s, _) => OwnedEvent::Text(s.clone()),
            Msg::Binary(b, _) => OwnedEvent::Binary(b.clone()),
            Msg::Ping(p) => OwnedEvent::Ping(p.clone()),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_encode_decode_round_trip(msgs in proptest::collection::vec(msg_strategy(), 1..8)) {
        let bytes = encode(&msgs);
        let o = run_with(Config::default(), &bytes, bytes.len());
        prop_assert_eq!(o.events, expected(&msgs));
    }

    #[test]
    fn prop_any_split_yields_same_events(msgs in proptest::collection::vec(msg_strategy(), 1..6), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..12)) {
        let bytes = encode(&msgs);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        points.push(0);
        points.push(bytes.len());
        points.sort_unstable();
        let mut s = Connection::new(Role::Server, Config::default());
        let mut ev = Vec::new();
        for w in points.windows(2) {
            s.feed_owned(&bytes[w[0]..w[1]], &mut ev).unwrap();
        }
        prop_assert_eq!(ev, expected(&msgs));
    }

    #[test]
    fn prop_garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..64) {
        for role in [Role::Server, Role::Client] {
            let mut c = Connection::new(role, Config { max_message_size: 1 << 16, ..Config::default() });
            for piece in data.chunks(chunk) {
                if c.feed(piece, |_| {}).is_err() { break; }
            }
        }
    }
}
