//! `Connection::feed_delivering`: messages the connection assembled are handed out
//! with their buffer, not borrowed, from the size the caller asks for.

use ferrosocket_core::{
    Config, Connection, DataKind, Delivery, Event, ProtocolError, Role, SendOptions,
};

#[derive(Debug, PartialEq, Eq)]
enum Got {
    /// A message borrowed from the input or the connection.
    Borrowed(DataKind, Vec<u8>),
    /// A message whose buffer was handed over.
    Owned(DataKind, Vec<u8>),
    Other,
}

fn feed(server: &mut Connection, wire: &[u8], min: usize) -> Result<Vec<Got>, ProtocolError> {
    let mut got = Vec::new();
    let mut input = wire.to_vec();
    server.feed_delivering(&mut input, min, |d| {
        got.push(match d {
            Delivery::Message(kind, data) => Got::Owned(kind, data),
            Delivery::Event(Event::Binary(b)) => Got::Borrowed(DataKind::Binary, b.to_vec()),
            Delivery::Event(Event::Text(t)) => Got::Borrowed(DataKind::Text, t.into()),
            Delivery::Event(_) => Got::Other,
            _ => Got::Other,
        })
    })?;
    Ok(got)
}

/// Frames as a client sends them (masked): whole, or in `parts` fragments.
fn client_frames(kind: DataKind, data: &[u8], parts: usize) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default());
    let step = data.len().div_ceil(parts).max(1);
    let chunks: Vec<&[u8]> = data.chunks(step).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opts = SendOptions {
            fin: i + 1 == chunks.len(),
            ..SendOptions::default()
        };
        client.send(kind, chunk, opts).unwrap();
    }
    client.take_output()
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

#[test]
fn a_message_split_across_reads_is_handed_over_from_the_size_asked() {
    let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    let wire = client_frames(DataKind::Binary, &data, 1);
    let mut s = server();
    let (a, b) = wire.split_at(10_000);
    assert_eq!(feed(&mut s, a, 16 * 1024).unwrap(), vec![]);
    assert_eq!(
        feed(&mut s, b, 16 * 1024).unwrap(),
        vec![Got::Owned(DataKind::Binary, data.clone())]
    );
    // Below the size asked for, the same message is borrowed.
    let mut s = server();
    feed(&mut s, a, 64 * 1024).unwrap();
    assert_eq!(
        feed(&mut s, b, 64 * 1024).unwrap(),
        vec![Got::Borrowed(DataKind::Binary, data)]
    );
}

#[test]
fn a_message_whole_in_the_input_stays_a_slice_of_it() {
    let data = vec![7u8; 50_000];
    let wire = client_frames(DataKind::Binary, &data, 1);
    assert_eq!(
        feed(&mut server(), &wire, 1).unwrap(),
        vec![Got::Borrowed(DataKind::Binary, data)]
    );
}

#[test]
fn rfc6455_5_4_fragments_are_handed_over_as_one_message() {
    let text = "é".repeat(20_000);
    let wire = client_frames(DataKind::Text, text.as_bytes(), 5);
    assert_eq!(
        feed(&mut server(), &wire, 1024).unwrap(),
        vec![Got::Owned(DataKind::Text, text.into_bytes())]
    );
}

#[test]
fn rfc6455_8_1_invalid_utf8_is_refused_before_any_hand_over() {
    let mut bad = "a".repeat(30_000).into_bytes();
    bad.extend_from_slice(&[0xff, 0xfe]);
    // Frames of a text message are checked as they come: the invalid bytes in the
    // last fragment fail the connection and nothing is handed out.
    let wire = client_frames(DataKind::Text, &bad, 3);
    let mut got = Vec::new();
    let mut input = wire.clone();
    let mut s = server();
    let r = s.feed_delivering(&mut input, 1, |d| {
        got.push(matches!(d, Delivery::Message(..)))
    });
    assert_eq!(r, Err(ProtocolError::InvalidUtf8));
    assert!(got.is_empty());
}

#[test]
fn the_buffer_handed_over_is_not_reused_for_the_next_message() {
    let first = vec![1u8; 30_000];
    let second = vec![2u8; 30_000];
    let mut wire = client_frames(DataKind::Binary, &first, 2);
    wire.extend(client_frames(DataKind::Binary, &second, 2));
    assert_eq!(
        feed(&mut server(), &wire, 1).unwrap(),
        vec![
            Got::Owned(DataKind::Binary, first),
            Got::Owned(DataKind::Binary, second)
        ]
    );
}

/// Feeds `wire` the way a transport that reads into the connection's room does:
/// through `payload_room` while it is offered, through `feed_delivering` otherwise, in
/// reads of at most `read` bytes. Returns what was delivered and how many bytes went
/// through the room.
fn feed_with_room(
    server: &mut Connection,
    wire: &[u8],
    read: usize,
) -> Result<(Vec<Got>, usize), ProtocolError> {
    let mut got = Vec::new();
    let mut on = |d: Delivery<'_>| {
        got.push(match d {
            Delivery::Message(kind, data) => Got::Owned(kind, data),
            Delivery::Event(Event::Binary(b)) => Got::Borrowed(DataKind::Binary, b.to_vec()),
            Delivery::Event(Event::Text(t)) => Got::Borrowed(DataKind::Text, t.into()),
            _ => Got::Other,
        })
    };
    let (mut at, mut through_room) = (0, 0);
    while at < wire.len() {
        if let Some(room) = server.payload_room(1024, read) {
            let n = room.len().min(wire.len() - at);
            for (slot, b) in room.iter_mut().zip(&wire[at..at + n]) {
                slot.write(*b);
            }
            // SAFETY: the loop above wrote the room's first `n` bytes.
            unsafe { server.received_in_room(n, 0, &mut on)? };
            at += n;
            through_room += n;
        } else {
            let end = (at + read).min(wire.len());
            let mut input = wire[at..end].to_vec();
            server.feed_delivering(&mut input, 0, &mut on)?;
            at = end;
        }
    }
    Ok((got, through_room))
}

#[test]
fn a_large_frame_is_received_in_the_message_buffer_itself() {
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
    let mut wire = client_frames(DataKind::Binary, &data, 1);
    wire.extend(client_frames(DataKind::Text, b"after", 1));
    let mut s = server();
    let (got, through_room) = feed_with_room(&mut s, &wire, 64 * 1024).unwrap();
    assert_eq!(
        got,
        vec![
            Got::Owned(DataKind::Binary, data),
            Got::Borrowed(DataKind::Text, b"after".to_vec())
        ]
    );
    assert!(
        through_room > 900_000,
        "{through_room} bytes through the room"
    );
}

#[test]
fn rfc6455_5_4_fragmented_text_through_the_room_is_checked_and_whole() {
    let text = "ü€".repeat(40_000);
    let wire = client_frames(DataKind::Text, text.as_bytes(), 4);
    let (got, through_room) = feed_with_room(&mut server(), &wire, 10_000).unwrap();
    assert_eq!(got, vec![Got::Owned(DataKind::Text, text.into_bytes())]);
    assert!(through_room > 0);
    let mut bad = "a".repeat(100_000).into_bytes();
    bad[60_000] = 0xff;
    let wire = client_frames(DataKind::Text, &bad, 1);
    assert_eq!(
        feed_with_room(&mut server(), &wire, 10_000).err(),
        Some(ProtocolError::InvalidUtf8)
    );
}

#[test]
fn no_room_for_control_frames_small_rests_or_a_closed_reader() {
    let mut s = server();
    assert!(s.payload_room(1, 1000).is_none(), "no frame in progress");
    let wire = client_frames(DataKind::Binary, &[5u8; 3000], 1);
    let mut head = wire[..100].to_vec();
    s.feed_delivering(&mut head, 0, |_| {}).unwrap();
    assert!(
        s.payload_room(4096, 1 << 20).is_none(),
        "fewer bytes to come than asked"
    );
    assert_eq!(
        s.payload_room(1, 1 << 20).map(|r| r.len()),
        Some(3000 - 100 + 8)
    );
    // A call that does not follow the room is ignored.
    let mut rest = wire[100..].to_vec();
    s.feed_delivering(&mut rest, 0, |_| {}).unwrap();
    // SAFETY: no room is outstanding: the call must do nothing.
    unsafe { s.received_in_room(10, 0, |_| panic!("nothing to deliver")) }.unwrap();
    s.close(Some(1000), "").unwrap();
}

#[test]
fn a_recycled_message_buffer_holds_the_next_large_message() {
    let first: Vec<u8> = (0..300_000u32).map(|i| i as u8).collect();
    let second: Vec<u8> = (0..300_000u32).map(|i| (i * 7) as u8).collect();
    let mut s = server();
    // Split across reads: the connection assembles it (whole in one input, a message
    // is a slice of the input instead).
    let split = |s: &mut Connection, wire: Vec<u8>| {
        let (a, b) = wire.split_at(1000);
        assert_eq!(feed(s, a, 16 * 1024).unwrap(), vec![]);
        feed(s, b, 16 * 1024).unwrap()
    };
    let mut got = split(&mut s, client_frames(DataKind::Binary, &first, 1));
    let Some(Got::Owned(_, buf)) = got.pop() else {
        panic!("handed over")
    };
    assert_eq!(buf, first);
    let at = buf.as_ptr();
    // The caller is done with it (a JS Buffer collected): the next one reuses it,
    // whatever the old bytes were.
    ferrosocket_core::recycle_buffer(buf);
    let mut got = split(&mut s, client_frames(DataKind::Binary, &second, 1));
    let Some(Got::Owned(_, buf)) = got.pop() else {
        panic!("handed over")
    };
    assert_eq!(buf, second);
    assert_eq!(buf.as_ptr(), at, "the recycled buffer");
    // A small message never takes a large buffer.
    ferrosocket_core::recycle_buffer(buf);
    let got = split(&mut s, client_frames(DataKind::Binary, &[1; 20_000], 1));
    let [Got::Owned(_, small)] = &got[..] else {
        panic!("handed over: {got:?}")
    };
    assert_eq!(small, &vec![1; 20_000]);
    assert!(small.capacity() < 64 * 1024, "{}", small.capacity());
}
