//! Server features decided by the connection, whatever the transport: heartbeat, idle
//! timeout and maximum lifetime (`Config::keepalive`), and backpressure
//! (`Config::max_backpressure`).

use ferrosocket_core::keepalive::KeepaliveConfig;
use ferrosocket_core::{
    Config, Connection, DataKind, DestroyReason, OwnedEvent, PreparedMessage, Role, SendStatus,
    TransportAction, UsageError, BACKPRESSURE_CLOSE_CODE,
};

fn server(config: Config) -> (Connection, Connection) {
    (
        Connection::new(Role::Client, Config::default()),
        Connection::new(Role::Server, config),
    )
}

fn pump(from: &mut Connection, to: &mut Connection) -> Vec<OwnedEvent> {
    let mut ev = Vec::new();
    let _ = to.feed_owned(&from.take_output(), &mut ev);
    ev
}

fn heartbeat(interval: u64, timeout: u64) -> Config {
    Config {
        keepalive: KeepaliveConfig {
            ping_interval_ms: interval,
            pong_timeout_ms: timeout,
            inbound_answers_ping: true,
            ..KeepaliveConfig::default()
        },
        ..Config::default()
    }
}

#[test]
fn heartbeat_pings_a_quiet_peer_and_terminates_one_that_does_not_answer() {
    let (mut client, mut server) = server(heartbeat(1_000, 500));
    assert_eq!(
        server.poll_deadline(0),
        Some(1_000),
        "the first call starts it"
    );
    server.on_timeout(1_000);
    assert!(server.has_output(), "a ping is queued");
    let ev = pump(&mut server, &mut client);
    assert!(matches!(ev[..], [OwnedEvent::Ping(ref p)] if p.is_empty()));
    assert_eq!(server.poll_deadline(1_000), Some(1_500));
    // The client answers (its automatic pong): the deadline moves to the next interval.
    pump(&mut client, &mut server);
    server.note_traffic(1_100);
    assert_eq!(server.poll_deadline(1_100), Some(2_100));
    server.on_timeout(2_100);
    pump(&mut server, &mut client); // ping; this time the client's answer is lost
    let _ = client.take_output();
    assert_eq!(server.poll_deadline(2_100), Some(2_600));
    server.on_timeout(2_599);
    assert_eq!(server.transport_action(), TransportAction::Keep);
    server.on_timeout(2_600);
    assert_eq!(server.transport_action(), TransportAction::Destroy);
    assert_eq!(
        server.destroy_reason(),
        Some(DestroyReason::HeartbeatTimeout)
    );
    assert_eq!(server.close_status(), (1006, "heartbeat timeout"));
    assert_eq!(server.poll_deadline(2_600), None);
}

#[test]
fn any_inbound_data_answers_the_heartbeat_and_traffic_defers_it() {
    let (mut client, mut server) = server(heartbeat(1_000, 500));
    server.poll_deadline(0);
    client.send_text("hi").unwrap();
    pump(&mut client, &mut server);
    server.note_traffic(800);
    assert_eq!(server.poll_deadline(800), Some(1_800));
    server.on_timeout(1_000); // early: nothing due, nothing sent
    assert!(!server.has_output());
    server.on_timeout(1_800);
    pump(&mut server, &mut client);
    client.send_text("still here").unwrap(); // data instead of the pong
    let _ = client.take_output(); // ...the automatic pong is lost, the data is not:
    client.send_text("still here").unwrap();
    pump(&mut client, &mut server);
    server.on_timeout(2_200);
    assert_eq!(server.transport_action(), TransportAction::Keep);
}

#[test]
fn traffic_not_reported_counts_from_the_next_deadline() {
    // A transport that never calls note_traffic still keeps a talking peer alive.
    let (mut client, mut server) = server(heartbeat(1_000, 500));
    server.poll_deadline(0);
    client.send_text("x").unwrap();
    pump(&mut client, &mut server);
    server.on_timeout(1_000);
    assert!(!server.has_output(), "traffic seen: no ping yet");
    assert_eq!(server.poll_deadline(1_000), Some(2_000));
}

#[test]
fn idle_timeout_closes_with_1001_and_heartbeat_pings_are_not_activity() {
    let mut config = heartbeat(400, 0);
    config.keepalive.idle_timeout_ms = 1_000;
    config.keepalive.idle_counts_outbound = true;
    let (mut client, mut server) = server(config);
    server.poll_deadline(0);
    server.send_text("out").unwrap();
    server.note_traffic(300);
    pump(&mut server, &mut client);
    for t in [700, 1_100] {
        server.on_timeout(t); // heartbeat pings, unanswered (no pong timeout set)
        let _ = server.take_output();
    }
    server.on_timeout(1_299);
    assert!(server.can_send());
    server.on_timeout(1_300);
    assert!(!server.can_send(), "closing");
    let ev = pump(&mut server, &mut client);
    assert!(
        matches!(ev.last(), Some(OwnedEvent::Close { code: Some(1001), reason }) if reason == "idle timeout")
    );
    assert_eq!(
        server.poll_deadline(1_300),
        Some(1_300 + Config::default().close_timeout)
    );
}

#[test]
fn max_lifetime_closes_a_busy_connection() {
    let config = Config {
        keepalive: KeepaliveConfig {
            max_lifetime_ms: 5_000,
            ..KeepaliveConfig::default()
        },
        ..Config::default()
    };
    let (mut client, mut server) = server(config);
    assert_eq!(server.poll_deadline(100), Some(5_100));
    client.send_text("busy").unwrap();
    pump(&mut client, &mut server);
    server.on_timeout(5_100);
    let ev = pump(&mut server, &mut client);
    assert!(
        matches!(ev.last(), Some(OwnedEvent::Close { code: Some(1001), reason }) if reason == "max lifetime reached")
    );
}

#[test]
fn no_keepalive_by_default() {
    let (_, mut server) = server(Config::default());
    assert_eq!(server.poll_deadline(0), None);
    server.on_timeout(u64::MAX);
    assert!(!server.has_output());
    assert!(!server.keepalive_active());
}

fn limited(max: usize, close: bool) -> Config {
    Config {
        max_backpressure: Some(max),
        close_on_backpressure_limit: close,
        high_water_mark: 100,
        ..Config::default()
    }
}

#[test]
fn over_max_backpressure_a_message_is_refused_whole_and_control_frames_pass() {
    let (_, mut server) = server(limited(300, false));
    assert_eq!(server.send_binary(&[0; 90]).unwrap(), SendStatus::Queued);
    assert_eq!(
        server.send_binary(&[0; 90]).unwrap(),
        SendStatus::OverHighWaterMark
    );
    let before = server.buffered();
    assert_eq!(
        server.send_binary(&[0; 200]),
        Err(UsageError::BackpressureLimit)
    );
    assert_eq!(server.buffered(), before, "nothing of it was queued");
    let shared = PreparedMessage::new(DataKind::Binary, &[1; 200]);
    assert_eq!(
        server.send_prepared(&shared),
        Err(UsageError::BackpressureLimit)
    );
    server.ping(b"alive").unwrap();
    server.pong(b"").unwrap();
    assert!(server.can_send(), "refusing does not close");
    // What the transport holds counts too.
    let _ = server.take_output();
    server.set_transport_buffered(250);
    assert_eq!(
        server.send_text("0123456789012345678901234567890123456789012345678901"),
        Err(UsageError::BackpressureLimit)
    );
    server.set_transport_buffered(0);
    assert!(server
        .send_text("0123456789012345678901234567890123456789012345678901")
        .is_ok());
    assert_eq!(
        UsageError::BackpressureLimit.ws_code(),
        "ERR_WS_BACKPRESSURE_LIMIT"
    );
}

#[test]
fn a_started_fragmented_message_is_finished_past_the_limit() {
    let (_, mut server) = server(limited(100, false));
    let frag = ferrosocket_core::SendOptions {
        fin: false,
        ..Default::default()
    };
    server.send(DataKind::Binary, &[0; 90], frag).unwrap();
    server
        .send(DataKind::Binary, &[0; 90], Default::default())
        .unwrap();
    assert_eq!(
        server.send_binary(&[0; 1]),
        Err(UsageError::BackpressureLimit)
    );
}

#[test]
fn close_on_backpressure_limit_starts_the_close_handshake() {
    let (mut client, mut server) = server(limited(100, true));
    server.send_binary(&[0; 90]).unwrap();
    assert_eq!(
        server.send_binary(&[0; 90]),
        Err(UsageError::BackpressureLimit)
    );
    assert!(!server.can_send());
    let ev = pump(&mut server, &mut client);
    assert_eq!(ev.len(), 2, "the accepted message, then the close");
    assert!(matches!(
        ev[1],
        OwnedEvent::Close {
            code: Some(BACKPRESSURE_CLOSE_CODE),
            ..
        }
    ));
}

#[test]
fn a_frame_written_by_the_caller_is_checked_like_a_send() {
    let (_, mut server) = server(limited(300, false));
    assert_eq!(server.admit_external(50), Ok(SendStatus::Queued));
    server.set_transport_buffered(60);
    assert_eq!(server.admit_external(50), Ok(SendStatus::OverHighWaterMark));
    server.set_transport_buffered(280);
    assert_eq!(
        server.admit_external(50),
        Err(UsageError::BackpressureLimit)
    );
    let mut client = Connection::new(Role::Client, Config::default());
    assert_eq!(
        client.admit_external(1),
        Err(UsageError::PreparedFrameOnClient)
    );
    server.close(None, "").unwrap();
    assert_eq!(server.admit_external(1), Err(UsageError::NotOpen));
}
