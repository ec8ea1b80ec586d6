//! `Connection::send_writing`: a frame the transport writes at once, behind what was
//! queued, with only the part the kernel refused copied into the queue.

use std::io::IoSlice;

use ferrosocket_core::{
    Config, Connection, DataKind, OwnedEvent, Role, SendOptions, SendStatus, UsageError,
};

/// A kernel that takes at most `room` bytes of one vectored write.
struct Kernel {
    room: usize,
    taken: Vec<u8>,
    calls: usize,
    slices: usize,
}

impl Kernel {
    fn new(room: usize) -> Self {
        Kernel {
            room,
            taken: Vec::new(),
            calls: 0,
            slices: 0,
        }
    }

    fn write(&mut self, iov: &[IoSlice<'_>]) -> usize {
        self.calls += 1;
        self.slices = iov.len();
        let mut n = 0;
        for s in iov {
            let k = s.len().min(self.room - n);
            self.taken.extend_from_slice(&s[..k]);
            n += k;
        }
        n
    }
}

fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

/// What a client makes of `wire`.
fn received(wire: &[u8]) -> Vec<OwnedEvent> {
    let mut client = Connection::new(Role::Client, Config::default());
    let mut events = Vec::new();
    client.feed_owned(wire, &mut events).expect("valid frames");
    events
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_frame_the_kernel_takes_whole_leaves_nothing_queued_and_follows_the_queue() {
    let mut s = server();
    s.send(DataKind::Text, b"first", SendOptions::default())
        .unwrap();
    let big = payload(100_000);
    let mut k = Kernel::new(usize::MAX);
    let status = s
        .send_writing(DataKind::Binary, &big, SendOptions::default(), |iov| {
            k.write(iov)
        })
        .unwrap();
    assert_eq!(status, SendStatus::Queued);
    assert_eq!(
        (k.calls, k.slices),
        (1, 3),
        "queue, header, payload in one write"
    );
    assert_eq!(s.buffered(), 0);
    assert!(!s.has_output());
    assert_eq!(
        received(&k.taken),
        vec![OwnedEvent::Text("first".into()), OwnedEvent::Binary(big)]
    );
}

#[test]
fn what_the_kernel_refuses_of_the_frame_is_queued_in_order() {
    for room in [0, 3, 7, 7 + 2, 7 + 10, 7 + 10 + 1000, 7 + 10 + 99_999] {
        let mut s = server();
        s.send(DataKind::Text, b"first", SendOptions::default())
            .unwrap();
        let big = payload(100_000);
        let mut k = Kernel::new(room);
        s.send_writing(DataKind::Binary, &big, SendOptions::default(), |iov| {
            k.write(iov)
        })
        .unwrap();
        // "first" is 7 bytes framed; the big frame's header 10 (RFC 6455 §5.2).
        let total = 7 + 10 + big.len();
        assert_eq!(s.buffered(), total - room, "room {room}");
        let mut wire = k.taken.clone();
        wire.extend(s.take_output());
        assert_eq!(
            received(&wire),
            vec![OwnedEvent::Text("first".into()), OwnedEvent::Binary(big)],
            "room {room}"
        );
    }
}

#[test]
fn sends_after_a_written_through_frame_queue_behind_its_rest() {
    let mut s = server();
    let big = payload(70_000);
    let mut k = Kernel::new(10_000);
    s.send_writing(DataKind::Binary, &big, SendOptions::default(), |iov| {
        k.write(iov)
    })
    .unwrap();
    s.send(DataKind::Text, b"after", SendOptions::default())
        .unwrap();
    let mut wire = k.taken.clone();
    wire.extend(s.take_output());
    assert_eq!(
        received(&wire),
        vec![OwnedEvent::Binary(big), OwnedEvent::Text("after".into())]
    );
}

#[test]
fn fragments_are_written_through_with_their_opcodes() {
    let mut s = server();
    let mut k = Kernel::new(usize::MAX);
    let part = SendOptions {
        fin: false,
        ..SendOptions::default()
    };
    s.send_writing(DataKind::Text, b"hel", part, |iov| k.write(iov))
        .unwrap();
    s.send_writing(DataKind::Text, b"lo", SendOptions::default(), |iov| {
        k.write(iov)
    })
    .unwrap();
    assert_eq!(received(&k.taken), vec![OwnedEvent::Text("hello".into())]);
}

#[test]
fn a_masked_frame_is_queued_and_not_written_through() {
    let mut c = Connection::new(Role::Client, Config::default());
    let mut called = false;
    c.send_writing(
        DataKind::Binary,
        &payload(1000),
        SendOptions::default(),
        |_| {
            called = true;
            0
        },
    )
    .unwrap();
    assert!(!called, "a client's frame is masked: a copy is made anyway");
    assert!(c.buffered() > 1000);
}

#[test]
fn a_refused_send_writes_nothing() {
    let mut s = server();
    s.close(Some(1000), "").unwrap();
    let mut called = false;
    let r = s.send_writing(DataKind::Binary, b"late", SendOptions::default(), |_| {
        called = true;
        0
    });
    assert_eq!(r, Err(UsageError::NotOpen));
    assert!(!called);
}

#[test]
fn the_high_water_mark_counts_the_refused_rest() {
    let config = Config {
        high_water_mark: 1000,
        ..Config::default()
    };
    let mut s = Connection::new(Role::Server, config);
    let data = payload(5000);
    let whole = s
        .send_writing(DataKind::Binary, &data, SendOptions::default(), |iov| {
            iov.iter().map(|s| s.len()).sum()
        })
        .unwrap();
    assert_eq!(whole, SendStatus::Queued);
    let refused = s
        .send_writing(DataKind::Binary, &data, SendOptions::default(), |_| 0)
        .unwrap();
    assert_eq!(refused, SendStatus::OverHighWaterMark);
}
