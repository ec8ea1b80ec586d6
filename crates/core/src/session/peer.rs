//! The server half of acknowledged delivery ([`super::wire`]), one per client session: it
//! hands each client message to the application once and in order (duplicates resent after a
//! reconnect are dropped by sequence number), says when to acknowledge, and keeps the
//! messages it sends in a bounded replay buffer until the client acknowledges them, to resend
//! them when the client comes back. Sans-IO like the rest of the crate: the caller moves the
//! frames and keeps the sessions (and their expiry).

use std::collections::VecDeque;

use super::wire::{self, Frame, HEADER_LEN, HELLO_LEN};

/// What a received frame means for the application.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerInput {
    /// A new message: hand `frame[HEADER_LEN..]` to the application.
    Deliver {
        /// Its sequence number.
        seq: u64,
        /// TEXT (UTF-8, checked) rather than BINARY.
        text: bool,
    },
    /// A message the application already had (a resend after a reconnect).
    Duplicate,
    /// The client acknowledged our messages up to here; they left the replay buffer.
    Acked,
    /// Not a frame of the protocol here: close the connection with `code` (RFC 6455 §7.4.1).
    Invalid {
        /// 1002 for a malformed frame, 1007 for a TEXT payload that is not UTF-8.
        code: u16,
        /// The close reason.
        reason: &'static str,
    },
}

/// A client's HELLO: its session id and the last of our messages it received in order.
pub fn parse_hello(frame: &[u8]) -> Option<([u8; 16], u64)> {
    match wire::decode(frame) {
        Some(Frame::Hello { id, last }) if frame.len() == HELLO_LEN => Some((id, last)),
        _ => None,
    }
}

/// One client session's receiving and replaying state.
#[derive(Debug)]
pub struct AckPeer {
    /// Highest client sequence number handed to the application.
    last_in: u64,
    /// Highest one acknowledged on the current link (`None`: none yet on this link).
    acked_in: Option<u64>,
    next_out: u64,
    replay: VecDeque<(u64, Vec<u8>)>,
    replay_bytes: usize,
    max_messages: usize,
    max_bytes: usize,
    dropped: Vec<u64>,
}

impl AckPeer {
    /// A session whose application already processed client messages up to
    /// `last_delivered`, numbering its own messages from `next_out`, replaying at most
    /// `max_messages` / `max_bytes` of them.
    pub fn new(last_delivered: u64, next_out: u64, max_messages: usize, max_bytes: usize) -> Self {
        AckPeer {
            last_in: last_delivered,
            acked_in: None,
            next_out: next_out.max(1),
            replay: VecDeque::new(),
            replay_bytes: 0,
            max_messages,
            max_bytes,
            dropped: Vec::new(),
        }
    }

    /// Highest client sequence number handed to the application.
    pub fn last_delivered(&self) -> u64 {
        self.last_in
    }

    /// Our messages not yet acknowledged by the client.
    pub fn pending(&self) -> usize {
        self.replay.len()
    }

    /// What a binary message from the client means (text messages are outside the protocol).
    pub fn receive(&mut self, frame: &[u8]) -> PeerInput {
        const MALFORMED: PeerInput = PeerInput::Invalid {
            code: 1002,
            reason: "invalid frame",
        };
        match wire::decode(frame) {
            Some(Frame::Ack(seq)) => {
                self.trim(seq);
                PeerInput::Acked
            }
            Some(Frame::Data { seq, text }) if frame.len() >= HEADER_LEN => {
                if text && crate::utf8::validate(&frame[HEADER_LEN..]).is_err() {
                    return PeerInput::Invalid {
                        code: 1007,
                        reason: "invalid UTF-8",
                    };
                }
                if seq <= self.last_in {
                    return PeerInput::Duplicate;
                }
                self.last_in = seq;
                PeerInput::Deliver { seq, text }
            }
            _ => MALFORMED,
        }
    }

    /// An ACK for everything delivered since the last one on this link, if anything was.
    /// Call it once the application's handlers ran (after a batch, not per message).
    pub fn ack(&mut self) -> Option<Vec<u8>> {
        if self.acked_in == Some(self.last_in) {
            return None;
        }
        self.acked_in = Some(self.last_in);
        Some(wire::ack(self.last_in))
    }

    /// Frames an application message to the client and keeps it for replay; past the
    /// bounds the oldest kept messages are forgotten (see [`take_dropped`](Self::take_dropped)).
    pub fn send(&mut self, text: bool, payload: &[u8]) -> Vec<u8> {
        let frame = wire::data(self.next_out, text, payload);
        self.replay.push_back((self.next_out, frame.clone()));
        self.next_out += 1;
        self.replay_bytes += frame.len();
        while self.replay.len() > self.max_messages || self.replay_bytes > self.max_bytes {
            let Some((seq, old)) = self.replay.pop_front() else {
                break;
            };
            self.replay_bytes -= old.len();
            self.dropped.push(seq);
        }
        frame
    }

    /// Sequence numbers forgotten from the replay buffer since the last call.
    pub fn take_dropped(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.dropped)
    }

    /// The client came back (its HELLO said it has our messages up to `last_seen`): the
    /// frames to resend, in order. The next [`ack`](Self::ack) answers on the new link.
    pub fn reattach(&mut self, last_seen: u64) -> impl Iterator<Item = &[u8]> {
        self.trim(last_seen);
        self.acked_in = None;
        self.replay.iter().map(|(_, f)| f.as_slice())
    }

    fn trim(&mut self, seq: u64) {
        while self.replay.front().is_some_and(|(s, _)| *s <= seq) {
            if let Some((_, f)) = self.replay.pop_front() {
                self.replay_bytes -= f.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_once_acks_per_batch_and_replays_what_was_not_acknowledged() {
        let mut p = AckPeer::new(0, 1, 10, 1 << 20);
        assert_eq!(
            p.receive(&wire::data(1, true, b"a")),
            PeerInput::Deliver { seq: 1, text: true }
        );
        assert_eq!(
            p.receive(&wire::data(2, false, b"b")),
            PeerInput::Deliver {
                seq: 2,
                text: false
            }
        );
        assert_eq!(p.receive(&wire::data(1, true, b"a")), PeerInput::Duplicate);
        assert_eq!(p.ack(), Some(wire::ack(2)));
        assert_eq!(p.ack(), None, "nothing new");
        let f1 = p.send(true, b"x");
        let f2 = p.send(false, b"y");
        assert_eq!(p.receive(&wire::ack(1)), PeerInput::Acked);
        assert_eq!(p.pending(), 1);
        assert_eq!(p.reattach(0).collect::<Vec<_>>(), [f2.as_slice()]);
        assert_ne!(f1, f2);
        assert_eq!(p.ack(), Some(wire::ack(2)), "a new link gets an ACK again");
    }

    #[test]
    fn bad_frames_and_bounds() {
        let mut p = AckPeer::new(5, 1, 2, 1 << 20);
        assert_eq!(
            p.receive(&wire::data(5, true, b"old")),
            PeerInput::Duplicate
        );
        assert!(matches!(
            p.receive(&[9, 0]),
            PeerInput::Invalid { code: 1002, .. }
        ));
        assert!(matches!(
            p.receive(&wire::data(6, true, &[0xff])),
            PeerInput::Invalid { code: 1007, .. }
        ));
        for m in [b"1", b"2", b"3"] {
            p.send(false, m);
        }
        assert_eq!(p.take_dropped(), [1]);
        assert_eq!(p.pending(), 2);
        assert_eq!(parse_hello(&wire::hello(&[7; 16], 3)), Some(([7; 16], 3)));
        assert_eq!(parse_hello(&wire::ack(3)), None);
    }
}
