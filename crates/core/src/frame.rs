//! Frame header encoding and decoding (RFC 6455 §5.2).

use crate::error::ProtocolError as Error;
use crate::mask::apply_mask;

/// Frame opcodes (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    /// Parses the 4-bit opcode; reserved values (3–7, 11–15) are errors (§5.2).
    pub fn from_u8(op: u8) -> Result<Self, Error> {
        Ok(match op {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            other => return Err(Error::InvalidOpcode(other)),
        })
    }

    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xa,
        }
    }

    /// Control frames have the high bit of the opcode set (§5.5).
    pub fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    pub rsv1: bool,
    pub rsv2: bool,
    pub rsv3: bool,
    /// The raw opcode; see [`OpCode::from_u8`].
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

/// Longest possible header: 2 + 8 (64-bit length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

impl FrameHeader {
    /// Decodes a header from the start of `buf`. Returns the header and its length, or
    /// `Ok(None)` when `buf` does not hold a whole header yet.
    #[inline]
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, Error> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (buf[0], buf[1]);
        let masked = b1 & 0x80 != 0;
        let (len_bytes, short) = match b1 & 0x7f {
            126 => (2, None),
            127 => (8, None),
            n => (0, Some(n as u64)),
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if buf.len() < header_len {
            return Ok(None);
        }
        let payload_len = match short {
            Some(n) => n,
            None if len_bytes == 2 => u16::from_be_bytes([buf[2], buf[3]]) as u64,
            None => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[2..10]);
                let n = u64::from_be_bytes(b);
                // §5.2: the most significant bit MUST be 0. ws also refuses > 2^53 - 1.
                if n > (1u64 << 53) - 1 {
                    return Err(Error::UnsupportedLength);
                }
                n
            }
        };
        let mask = masked.then(|| {
            let m = 2 + len_bytes;
            [buf[m], buf[m + 1], buf[m + 2], buf[m + 3]]
        });
        Ok(Some((
            FrameHeader {
                fin: b0 & 0x80 != 0,
                rsv1: b0 & 0x40 != 0,
                rsv2: b0 & 0x20 != 0,
                rsv3: b0 & 0x10 != 0,
                opcode: b0 & 0x0f,
                mask,
                payload_len,
            },
            header_len,
        )))
    }

    /// Appends the encoded header to `out` (the shortest length form, §5.2).
    #[inline]
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut hdr = [0u8; MAX_HEADER_LEN];
        let n = self.encode_into(&mut hdr);
        out.extend_from_slice(&hdr[..n]);
    }

    /// Writes the encoded header at the start of `hdr`; returns its length.
    #[inline]
    pub fn encode_into(&self, hdr: &mut [u8; MAX_HEADER_LEN]) -> usize {
        let mut b0 = self.opcode & 0x0f;
        if self.fin {
            b0 |= 0x80;
        }
        if self.rsv1 {
            b0 |= 0x40;
        }
        if self.rsv2 {
            b0 |= 0x20;
        }
        if self.rsv3 {
            b0 |= 0x10;
        }
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        hdr[0] = b0;
        let mut n = 2;
        match self.payload_len {
            len @ 0..=125 => hdr[1] = mask_bit | len as u8,
            len @ 126..=0xffff => {
                hdr[1] = mask_bit | 126;
                hdr[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                n = 4;
            }
            len => {
                hdr[1] = mask_bit | 127;
                hdr[2..10].copy_from_slice(&len.to_be_bytes());
                n = 10;
            }
        }
        if let Some(m) = self.mask {
            hdr[n..n + 4].copy_from_slice(&m);
            n += 4;
        }
        n
    }
}

/// Appends a whole frame (header, then the payload masked when `mask` is set) to `out`.
pub fn write_frame(
    out: &mut Vec<u8>,
    opcode: OpCode,
    fin: bool,
    rsv1: bool,
    mask: Option<[u8; 4]>,
    payload: &[u8],
) {
    out.reserve(MAX_HEADER_LEN + payload.len());
    FrameHeader {
        fin,
        rsv1,
        rsv2: false,
        rsv3: false,
        opcode: opcode.as_u8(),
        mask,
        payload_len: payload.len() as u64,
    }
    .encode(out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(buf: &[u8]) -> (FrameHeader, Vec<u8>) {
        let (h, n) = FrameHeader::decode(buf).unwrap().unwrap();
        let mut p = buf[n..n + h.payload_len as usize].to_vec();
        if let Some(k) = h.mask {
            apply_mask(&mut p, k, 0);
        }
        (h, p)
    }

    #[test]
    fn rfc6455_5_7_unmasked_hello() {
        let (h, p) = decode_all(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert!(h.fin && h.mask.is_none());
        assert_eq!(h.opcode, 0x1);
        assert_eq!(p, b"Hello");
    }

    #[test]
    fn rfc6455_5_7_masked_hello() {
        let (h, p) = decode_all(&[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(p, b"Hello");
    }

    #[test]
    fn rfc6455_5_7_fragmented_hello() {
        let (h1, p1) = decode_all(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        let (h2, p2) = decode_all(&[0x80, 0x02, 0x6c, 0x6f]);
        assert!(!h1.fin && h1.opcode == 1 && h2.fin && h2.opcode == 0);
        assert_eq!([p1, p2].concat(), b"Hello");
    }

    #[test]
    fn rfc6455_5_7_ping_and_masked_pong() {
        let (h, p) = decode_all(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        assert_eq!((h.opcode, p.as_slice()), (0x9, &b"Hello"[..]));
        let (h, p) = decode_all(&[
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        assert_eq!((h.opcode, p.as_slice()), (0xa, &b"Hello"[..]));
    }

    #[test]
    fn rfc6455_5_7_256_bytes_and_64_kib_binary() {
        let mut out = Vec::new();
        write_frame(&mut out, OpCode::Binary, true, false, None, &[0u8; 256]);
        assert_eq!(&out[..4], &[0x82, 0x7e, 0x01, 0x00]);
        out.clear();
        write_frame(
            &mut out,
            OpCode::Binary,
            true,
            false,
            None,
            &vec![0u8; 65536],
        );
        assert_eq!(
            &out[..10],
            &[0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
        );
    }

    #[test]
    fn rfc6455_5_2_length_forms_roundtrip() {
        for len in [0usize, 125, 126, 127, 128, 65535, 65536] {
            let payload = vec![7u8; len];
            let mut out = Vec::new();
            write_frame(
                &mut out,
                OpCode::Text,
                true,
                false,
                Some([1, 2, 3, 4]),
                &payload,
            );
            let (h, p) = decode_all(&out);
            assert_eq!(h.payload_len as usize, len);
            assert_eq!(p, payload);
        }
    }

    #[test]
    fn rfc6455_5_2_top_bit_of_64_bit_length_rejected() {
        let buf = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(FrameHeader::decode(&buf), Err(Error::UnsupportedLength));
    }

    #[test]
    fn partial_header_needs_more() {
        let buf = [0x82, 0xfe, 0x01];
        assert_eq!(FrameHeader::decode(&buf), Ok(None));
    }

    #[test]
    fn rfc6455_5_2_reserved_opcodes() {
        for op in [3u8, 4, 5, 6, 7, 11, 12, 13, 14, 15] {
            assert_eq!(OpCode::from_u8(op), Err(Error::InvalidOpcode(op)));
        }
    }
}
