//! `AckPeer`: the core's server half of acknowledged delivery
//! (`ferrosocket_core::session::peer`) for `npm/lib/ack-server.js`, which keeps only the
//! session table and moves frames. Sequence numbers cross as JS numbers (exact to 2^53).

use ferrosocket_core::session::peer::{self, PeerInput};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either};
use napi_derive::napi;

/// A client's HELLO: `{ id (32 hex digits), last }`, or `null` when the frame is not one.
#[napi(object)]
pub struct AckHello {
    pub id: String,
    pub last: f64,
}

/// Parses a HELLO frame.
#[napi]
pub fn ack_hello(frame: BufferSlice) -> Option<AckHello> {
    peer::parse_hello(&frame).map(|(id, last)| AckHello {
        id: id.iter().map(|b| format!("{b:02x}")).collect(),
        last: last as f64,
    })
}

fn seq(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v as u64
    } else {
        0
    }
}

/// One client session's receiving and replaying state.
#[napi]
pub struct AckPeer {
    inner: peer::AckPeer,
}

#[napi]
impl AckPeer {
    /// See `ferrosocket_core::session::peer::AckPeer::new`.
    #[napi(constructor)]
    pub fn new(last_delivered: f64, next_out: f64, max_messages: f64, max_bytes: f64) -> Self {
        AckPeer {
            inner: peer::AckPeer::new(
                seq(last_delivered),
                seq(next_out),
                seq(max_messages) as usize,
                seq(max_bytes) as usize,
            ),
        }
    }

    /// A binary message from the client: 1 deliver text, 2 deliver binary (the payload is
    /// `frame.subarray(9)`, its seq `lastDelivered`), 0 nothing for the application
    /// (duplicate or ACK), or minus the close code (-1002, -1007) for an invalid frame.
    #[napi]
    pub fn receive(&mut self, frame: BufferSlice) -> i32 {
        match self.inner.receive(&frame) {
            PeerInput::Deliver { text: true, .. } => 1,
            PeerInput::Deliver { text: false, .. } => 2,
            PeerInput::Invalid { code, .. } => -i32::from(code),
            _ => 0,
        }
    }

    /// An ACK frame for what was delivered since the last one on this link, or `null`.
    #[napi]
    pub fn ack(&mut self) -> Option<Buffer> {
        self.inner.ack().map(Buffer::from)
    }

    /// Frames an application message (string = TEXT) and keeps it for replay.
    #[napi]
    pub fn send(&mut self, data: Either<String, BufferSlice>) -> Buffer {
        match &data {
            Either::A(s) => self.inner.send(true, s.as_bytes()),
            Either::B(b) => self.inner.send(false, b),
        }
        .into()
    }

    /// Sequence numbers forgotten from the replay buffer (over its bounds) since the last call.
    #[napi]
    pub fn take_dropped(&mut self) -> Option<Vec<f64>> {
        let d = self.inner.take_dropped();
        (!d.is_empty()).then(|| d.into_iter().map(|s| s as f64).collect())
    }

    /// The client is back and has our messages up to `lastSeen`: the frames to resend.
    #[napi]
    pub fn reattach(&mut self, last_seen: f64) -> Vec<Buffer> {
        self.inner
            .reattach(seq(last_seen))
            .map(|f| Buffer::from(f.to_vec()))
            .collect()
    }

    /// Highest client sequence number handed to the application.
    #[napi(getter)]
    pub fn last_delivered(&self) -> f64 {
        self.inner.last_delivered() as f64
    }

    /// Our messages not yet acknowledged.
    #[napi(getter)]
    pub fn pending(&self) -> u32 {
        u32::try_from(self.inner.pending()).unwrap_or(u32::MAX)
    }
}
