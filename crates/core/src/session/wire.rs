//! The wire format of acknowledged delivery (subprotocol [`SUBPROTOCOL`]), documented for other
//! implementations in `docs/acknowledged-delivery.md`.
//!
//! Every frame is one binary WebSocket message whose first byte is its type; integers are
//! unsigned 64-bit big-endian. Sequence numbers start at 1 in each direction of a session and
//! grow by 1 per application message. Text WebSocket messages are outside the protocol (not
//! sequenced, not acknowledged) and pass through as they are, e.g. app-level heartbeats.
//!
//! | type | name | layout | sent by |
//! |---|---|---|---|
//! | 1 | HELLO | `01` · session id (16 bytes) · last seq received in order | client, first on every link |
//! | 2 | ACK | `02` · seq: every message up to and including it was handed to the application | both |
//! | 3 | TEXT | `03` · seq · UTF-8 payload | both |
//! | 4 | BINARY | `04` · seq · payload | both |

/// The WebSocket subprotocol (RFC 6455 §1.9) that selects acknowledged delivery.
pub const SUBPROTOCOL: &str = "ferrosocket.ack.v1";
/// Bytes before the payload of a TEXT or BINARY frame (type + seq); also the size of an ACK.
pub const HEADER_LEN: usize = 9;
/// Length of a HELLO frame.
pub const HELLO_LEN: usize = 1 + 16 + 8;

const HELLO: u8 = 1;
const ACK: u8 = 2;
const TEXT: u8 = 3;
const BINARY: u8 = 4;

/// A decoded frame header.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A client (re)opened its session `id`; it has received the peer's messages up to `last`.
    Hello {
        /// The session id.
        id: [u8; 16],
        /// The last sequence number received from the peer (0: none).
        last: u64,
    },
    /// Everything up to and including `seq` was handed to the peer's application.
    Ack(u64),
    /// Application message `seq`; its payload is the rest of the frame, from [`HEADER_LEN`].
    Data {
        /// The message's sequence number.
        seq: u64,
        /// TEXT (UTF-8) rather than BINARY.
        text: bool,
    },
}

fn seq_at(b: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Decodes the header of a frame. Reads at most [`HELLO_LEN`] bytes, so a caller may pass just
/// a prefix of a large message. `None`: not a frame of this protocol.
pub fn decode(b: &[u8]) -> Option<Frame> {
    match *b.first()? {
        HELLO => Some(Frame::Hello {
            id: b.get(1..17)?.try_into().ok()?,
            last: seq_at(b, 17)?,
        }),
        ACK => seq_at(b, 1).map(Frame::Ack),
        t @ (TEXT | BINARY) => seq_at(b, 1).map(|seq| Frame::Data {
            seq,
            text: t == TEXT,
        }),
        _ => None,
    }
}

fn header(kind: u8, seq: u64, extra: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + extra);
    v.push(kind);
    v.extend_from_slice(&seq.to_be_bytes());
    v
}

/// A HELLO frame.
pub fn hello(id: &[u8; 16], last: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(HELLO_LEN);
    v.push(HELLO);
    v.extend_from_slice(id);
    v.extend_from_slice(&last.to_be_bytes());
    v
}

/// An ACK frame.
pub fn ack(seq: u64) -> Vec<u8> {
    header(ACK, seq, 0)
}

/// A TEXT (`text`) or BINARY frame carrying `payload` as message `seq`.
pub fn data(seq: u64, text: bool, payload: &[u8]) -> Vec<u8> {
    let mut v = header(if text { TEXT } else { BINARY }, seq, payload.len());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let id = [7u8; 16];
        assert_eq!(decode(&hello(&id, 42)), Some(Frame::Hello { id, last: 42 }));
        assert_eq!(decode(&ack(u64::MAX)), Some(Frame::Ack(u64::MAX)));
        let f = data(5, true, "hé".as_bytes());
        assert_eq!(decode(&f), Some(Frame::Data { seq: 5, text: true }));
        assert_eq!(&f[HEADER_LEN..], "hé".as_bytes());
        assert_eq!(
            decode(&data(6, false, &[])),
            Some(Frame::Data {
                seq: 6,
                text: false
            })
        );
        assert_eq!(decode(&f[..HEADER_LEN]), decode(&f), "a prefix is enough");
        for bad in [
            &[][..],
            &[0],
            &[9, 0, 0, 0, 0, 0, 0, 0, 1],
            &[2, 0, 0],
            &[1; 20],
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
        // The documented layout, byte for byte.
        assert_eq!(ack(0x0102), [2, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(data(1, false, b"x"), [4, 0, 0, 0, 0, 0, 0, 0, 1, b'x']);
    }
}
