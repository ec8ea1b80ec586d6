//! (De)compression as jobs run on another thread (`Config::offload_*_min`): order kept
//! per connection, lifecycle rules (close, terminate) kept while a job is out, and the
//! shared compressor of connections without context takeover.
#![cfg(feature = "deflate")]

use ferrosocket_core::deflate::DeflateConfig;
use ferrosocket_core::{
    Config, Connection, DataKind, DeflateJob, InflateJob, OwnedEvent, Role, SendOptions,
    SendStatus, TransportAction,
};

const MIN: usize = 4096;

fn pair(server_cfg: DeflateConfig) -> (Connection, Connection) {
    let client_cfg = DeflateConfig::default();
    let (sp, resp) = server_cfg.accept(&client_cfg.offer()).unwrap().unwrap();
    let cp = client_cfg.accept_response(&resp).unwrap();
    let cfg = Config {
        offload_deflate_min: MIN,
        offload_inflate_min: MIN,
        ..Config::default()
    };
    (
        Connection::with_deflate(Role::Client, cfg.clone(), Some(cp)),
        Connection::with_deflate(Role::Server, cfg, Some(sp)),
    )
}

/// Not very compressible, so the compressed form stays above `MIN`.
fn big(tag: u8) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(tag);
    (0..40_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            b'a' + (x % 26) as u8
        })
        .collect()
}

fn on_worker_deflate(mut job: DeflateJob) -> DeflateJob {
    std::thread::spawn(move || {
        job.run();
        job
    })
    .join()
    .unwrap()
}

fn on_worker_inflate(mut job: InflateJob) -> InflateJob {
    std::thread::spawn(move || {
        job.run();
        job
    })
    .join()
    .unwrap()
}

/// Feeds everything `from` has written to `to`, running inflate jobs as they come.
fn deliver(from: &mut Connection, to: &mut Connection) -> Vec<OwnedEvent> {
    let mut ev = Vec::new();
    let bytes = from.take_output();
    for piece in bytes.chunks(10_000) {
        to.feed(piece, |e| ev.push(e.to_owned())).unwrap();
    }
    while let Some(job) = to.take_inflate_job() {
        let job = on_worker_inflate(job);
        to.finish_inflate(job, |e| ev.push(e.to_owned())).unwrap();
    }
    ev
}

fn text(data: &[u8]) -> OwnedEvent {
    OwnedEvent::Text(String::from_utf8(data.to_vec()).unwrap())
}

#[test]
fn sends_behind_a_compression_job_keep_call_order() {
    let (mut client, mut server) = pair(DeflateConfig::default());
    let (a, c) = (big(1), big(2));
    let st = server.send(DataKind::Text, &a, SendOptions::default());
    assert_eq!(st, Ok(SendStatus::Deferred));
    assert_eq!(server.send_text("small"), Ok(SendStatus::Deferred));
    assert_eq!(server.ping(b"p"), Ok(SendStatus::Deferred));
    server
        .send(DataKind::Text, &c, SendOptions::default())
        .unwrap();
    server.send_text("after c").unwrap();
    assert!(server.deferred_bytes() >= a.len() + c.len());
    assert!(
        !server.has_output(),
        "nothing may overtake the message being compressed"
    );

    let job = server.take_deflate_job().unwrap();
    assert!(server.take_deflate_job().is_none(), "one job at a time");
    // The message, the small send and the ping are framed: 3 calls; `c` goes out next.
    assert_eq!(server.finish_deflate(on_worker_deflate(job)), 3);
    assert!(server.deferred());
    let first = deliver(&mut server, &mut client);
    assert_eq!(
        first,
        vec![text(&a), text(b"small"), OwnedEvent::Ping(b"p".to_vec())]
    );
    let job = server.take_deflate_job().unwrap();
    assert_eq!(server.finish_deflate(on_worker_deflate(job)), 2);
    assert!(!server.deferred() && server.deferred_bytes() == 0);
    assert_eq!(
        deliver(&mut server, &mut client),
        vec![text(&c), text(b"after c")]
    );
}

#[test]
fn received_messages_after_a_large_one_wait_for_its_inflate_job() {
    let (mut client, mut server) = pair(DeflateConfig::default());
    let a = big(3);
    client
        .send(DataKind::Binary, &a, SendOptions::default())
        .unwrap();
    let job = client.take_deflate_job().unwrap();
    client.finish_deflate(on_worker_deflate(job));
    client.send_text("next").unwrap();
    client.close(Some(1000), "bye").unwrap();
    let wire = client.take_output();
    let mut ev = Vec::new();
    server.feed(&wire, |e| ev.push(e.to_owned())).unwrap();
    assert!(ev.is_empty() && server.inflate_ready());
    let job = server.take_inflate_job().unwrap();
    assert!(!server.inflate_ready());
    // Bytes arriving meanwhile are kept, not parsed.
    server.feed(b"", |_| panic!("nothing to parse")).unwrap();
    server
        .finish_inflate(on_worker_inflate(job), |e| ev.push(e.to_owned()))
        .unwrap();
    assert_eq!(
        ev,
        vec![
            OwnedEvent::Binary(a),
            text(b"next"),
            OwnedEvent::Close {
                code: Some(1000),
                reason: "bye".into()
            }
        ]
    );
}

#[test]
fn input_received_before_terminate_is_still_delivered() {
    // As ws: the message being inflated and what was read after it are delivered.
    let (mut client, mut server) = pair(DeflateConfig::default());
    let a = big(6);
    client
        .send(DataKind::Text, &a, SendOptions::default())
        .unwrap();
    let job = client.take_deflate_job().unwrap();
    client.finish_deflate(on_worker_deflate(job));
    client.send_text("next").unwrap();
    server.feed(&client.take_output(), |_| {}).unwrap();
    let job = server.take_inflate_job().unwrap();
    server.terminate();
    // Read from the transport before it closed: kept for after the message.
    server
        .feed(b"\x81\x81\0\0\0\0!", |_| {
            panic!("parsed before the message")
        })
        .unwrap();
    let mut ev = Vec::new();
    server
        .finish_inflate(on_worker_inflate(job), |e| ev.push(e.to_owned()))
        .unwrap();
    assert_eq!(ev, vec![text(&a), text(b"next"), text(b"!")]);
    assert!(!server.has_output());
}

#[test]
fn a_close_received_while_compressing_goes_out_after_the_message() {
    let (mut client, mut server) = pair(DeflateConfig::default());
    let a = big(4);
    server
        .send(DataKind::Text, &a, SendOptions::default())
        .unwrap();
    let job = server.take_deflate_job().unwrap();
    client.close(Some(1000), "").unwrap();
    let bytes = client.take_output();
    server.feed(&bytes, |_| {}).unwrap();
    // The echo is owed, but waits behind the message: nothing to end yet.
    assert_eq!(server.transport_action(), TransportAction::Keep);
    assert!(!server.has_output());
    server.finish_deflate(on_worker_deflate(job));
    let events = deliver(&mut server, &mut client);
    assert_eq!(events[0], text(&a));
    assert!(matches!(events[1], OwnedEvent::Close { .. }));
    assert_eq!(server.transport_action(), TransportAction::End);
}

#[test]
fn terminate_while_a_job_is_out_frames_nothing() {
    let (_client, mut server) = pair(DeflateConfig::default());
    server
        .send(DataKind::Text, &big(5), SendOptions::default())
        .unwrap();
    server.send_text("x").unwrap();
    let job = server.take_deflate_job().unwrap();
    server.terminate();
    assert_eq!(server.finish_deflate(on_worker_deflate(job)), 0);
    assert!(!server.has_output() && !server.deferred());
    assert_eq!(server.transport_action(), TransportAction::Destroy);
}

#[test]
fn shared_compressor_leaves_no_per_connection_context() {
    for (nct, kept) in [(true, false), (false, true)] {
        let (mut client, mut server) = pair(DeflateConfig {
            server_no_context_takeover: nct,
            ..Default::default()
        });
        for i in 0..3 {
            server
                .send_text(&format!("{i} {}", "{\"k\":\"value\"},".repeat(100)))
                .unwrap();
            let ev = deliver(&mut server, &mut client);
            assert_eq!(ev.len(), 1);
        }
        assert_eq!(server.deflate_context_bytes() > 0, kept, "nct={nct}");
    }
}
