//! The frame reader: turns received bytes into events, whatever way TCP cut them.
//! Payload bytes are unmasked and UTF-8-checked as they arrive (fail fast, RFC 6455
//! §8.1); a whole unmasked single-frame message is handed out straight from the input.

use crate::close;
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::protocol::{Connection, DataKind, Event, Role, RETAIN_CAPACITY};
use crate::utf8::{self, Utf8Validator};

/// Buffer space reserved up front for a frame, at most (the rest grows as data comes,
/// so a header that announces a huge frame cannot make us allocate it).
const MAX_RESERVE: u64 = 1 << 20;

#[derive(Debug, Clone, Copy)]
struct Frame {
    op: OpCode,
    fin: bool,
    mask: Option<[u8; 4]>,
    remaining: u64,
    /// Payload bytes of this frame already read (the mask offset).
    done: u64,
}

/// Receive-side state of a [`Connection`].
#[derive(Debug, Default)]
pub(crate) struct Reader {
    hdr: [u8; MAX_HEADER_LEN],
    hdr_len: usize,
    frame: Option<Frame>,
    /// The data message being assembled (compressed bytes while compressed).
    msg: Vec<u8>,
    /// Some while a data message is in progress (RFC 6455 §5.4).
    msg_kind: Option<DataKind>,
    msg_compressed: bool,
    fragments: usize,
    utf8: Utf8Validator,
    /// The control frame being read (≤ 125 bytes).
    pub(crate) control: Vec<u8>,
}

impl Reader {
    pub(crate) fn heap_bytes(&self) -> usize {
        self.msg.capacity() + self.control.capacity()
    }
}

fn emit<F: FnMut(Event<'_>)>(
    kind: DataKind,
    bytes: &[u8],
    validate: bool,
    on_event: &mut F,
) -> Result<(), Error> {
    match kind {
        DataKind::Binary => on_event(Event::Binary(bytes)),
        DataKind::Text if validate => on_event(Event::Text(
            utf8::validate(bytes).map_err(|_| Error::InvalidUtf8)?,
        )),
        DataKind::Text => on_event(Event::UncheckedText(bytes)),
    }
    Ok(())
}

fn release(buf: &mut Vec<u8>) {
    if buf.capacity() > RETAIN_CAPACITY {
        *buf = Vec::new();
    } else {
        buf.clear();
    }
}

impl Connection {
    /// Parses received bytes; events go to `on_event` in order. On a protocol violation
    /// the events before it have been delivered, a close frame with the error's code is
    /// queued in [`output`](Self::output), the connection is failed and the error
    /// returned. Input after the peer's close frame, or after a failure, is ignored
    /// (RFC 6455 §5.5.1).
    pub fn feed<F: FnMut(Event<'_>)>(
        &mut self,
        mut data: &[u8],
        mut on_event: F,
    ) -> Result<(), Error> {
        while !data.is_empty() && !self.failed && self.close_received.is_none() {
            if let Err(e) = self.step(&mut data, &mut on_event) {
                return Err(self.fail(e));
            }
        }
        Ok(())
    }

    fn step<F: FnMut(Event<'_>)>(
        &mut self,
        data: &mut &[u8],
        on_event: &mut F,
    ) -> Result<(), Error> {
        if self.reader.frame.is_none() {
            let Some(header) = self.read_header(data)? else {
                return Ok(());
            };
            self.begin_frame(header)?;
            if header.payload_len == 0 {
                return self.end_frame(on_event);
            }
        }
        self.read_payload(data, on_event)
    }

    fn read_header(&mut self, data: &mut &[u8]) -> Result<Option<FrameHeader>, Error> {
        let r = &mut self.reader;
        if r.hdr_len == 0 {
            if let Some((h, n)) = FrameHeader::decode(data)? {
                *data = &data[n..];
                return Ok(Some(h));
            }
        }
        // The header is cut: gather it in `hdr`.
        let take = (MAX_HEADER_LEN - r.hdr_len).min(data.len());
        r.hdr[r.hdr_len..r.hdr_len + take].copy_from_slice(&data[..take]);
        match FrameHeader::decode(&r.hdr[..r.hdr_len + take])? {
            None => {
                r.hdr_len += take;
                *data = &data[take..];
                Ok(None)
            }
            Some((h, n)) => {
                *data = &data[n - r.hdr_len..];
                r.hdr_len = 0;
                Ok(Some(h))
            }
        }
    }

    /// Checks a header against RFC 6455 §5 and the limits (in `ws`'s order, so the same
    /// input yields the same error).
    fn begin_frame(&mut self, h: FrameHeader) -> Result<(), Error> {
        if h.rsv2 || h.rsv3 {
            return Err(Error::Rsv23Set); // §5.2
        }
        let deflate = self.deflate_enabled();
        let op = OpCode::from_u8(h.opcode)?;
        let r = &mut self.reader;
        match op {
            OpCode::Continuation => {
                if h.rsv1 {
                    return Err(Error::Rsv1Set); // RFC 7692 §6.1: RSV1 on the first frame only
                }
                if r.msg_kind.is_none() {
                    return Err(Error::InvalidOpcode(0)); // §5.4: nothing to continue
                }
            }
            OpCode::Text | OpCode::Binary => {
                if h.rsv1 && !deflate {
                    return Err(Error::Rsv1Set);
                }
                if r.msg_kind.is_some() {
                    return Err(Error::InvalidOpcode(h.opcode)); // §5.4: interleaved message
                }
            }
            _ => {
                if !h.fin {
                    return Err(Error::FragmentedControl); // §5.5
                }
                if h.rsv1 {
                    return Err(Error::Rsv1Set);
                }
                if h.payload_len > 125 || (op == OpCode::Close && h.payload_len == 1) {
                    return Err(Error::InvalidControlLength(h.payload_len)); // §5.5, §5.5.1
                }
            }
        }
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Error::ExpectedMask), // §5.1
            (Role::Client, true) => return Err(Error::UnexpectedMask),
            _ => {}
        }
        if !op.is_control() {
            if op != OpCode::Continuation {
                r.msg_kind = Some(if op == OpCode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                });
                r.msg_compressed = h.rsv1;
                r.fragments = 0;
                r.utf8.reset();
            }
            r.fragments += 1;
            if r.fragments > self.config.max_fragments {
                return Err(Error::TooManyFragments);
            }
            let limit = self.config.max_message_size as u64;
            if h.payload_len > self.config.max_frame_size as u64
                || r.msg.len() as u64 + h.payload_len > limit
            {
                return Err(Error::MessageTooBig);
            }
        }
        r.frame = Some(Frame {
            op,
            fin: h.fin,
            mask: h.mask,
            remaining: h.payload_len,
            done: 0,
        });
        Ok(())
    }

    fn read_payload<F: FnMut(Event<'_>)>(
        &mut self,
        data: &mut &[u8],
        on_event: &mut F,
    ) -> Result<(), Error> {
        let validate = self.config.validate_utf8;
        let r = &mut self.reader;
        let f = r.frame.as_mut().expect("a frame is being read");
        let take = f.remaining.min(data.len() as u64) as usize;
        let (chunk, rest) = data.split_at(take);
        *data = rest;
        if f.op.is_control() {
            let start = r.control.len();
            r.control.extend_from_slice(chunk);
            if let Some(k) = f.mask {
                apply_mask(&mut r.control[start..], k, f.done as usize);
            }
        } else {
            let kind = r.msg_kind.expect("a data frame belongs to a message");
            let whole = f.done == 0 && take as u64 == f.remaining && f.fin && r.fragments == 1;
            if whole && f.mask.is_none() && !r.msg_compressed {
                // A whole unmasked message in the input: no copy at all.
                r.frame = None;
                r.msg_kind = None;
                return emit(kind, chunk, validate, on_event);
            }
            if r.msg.is_empty() {
                r.msg.reserve(f.remaining.min(MAX_RESERVE) as usize);
            }
            let start = r.msg.len();
            r.msg.extend_from_slice(chunk);
            if let Some(k) = f.mask {
                apply_mask(&mut r.msg[start..], k, f.done as usize);
            }
            if kind == DataKind::Text && validate && !r.msg_compressed && !whole {
                // Fail fast: reject text as soon as its prefix cannot be valid (§8.1).
                r.utf8
                    .feed(&r.msg[start..])
                    .map_err(|_| Error::InvalidUtf8)?;
            }
        }
        f.remaining -= take as u64;
        f.done += take as u64;
        if f.remaining == 0 {
            self.end_frame(on_event)?;
        }
        Ok(())
    }

    fn end_frame<F: FnMut(Event<'_>)>(&mut self, on_event: &mut F) -> Result<(), Error> {
        let f = self.reader.frame.take().expect("a frame is being read");
        match f.op {
            OpCode::Ping => {
                self.auto_pong(0..self.reader.control.len());
                on_event(Event::Ping(&self.reader.control));
            }
            OpCode::Pong => on_event(Event::Pong(&self.reader.control)),
            OpCode::Close => self.close_frame(on_event)?,
            _ => return self.end_data_frame(f, on_event),
        }
        self.reader.control.clear();
        Ok(())
    }

    fn close_frame<F: FnMut(Event<'_>)>(&mut self, on_event: &mut F) -> Result<(), Error> {
        let (code, reason) = close::parse_payload(&self.reader.control)?;
        self.close_reply_pending = !self.close_sent;
        self.close_received = Some((code, reason.to_string()));
        on_event(Event::Close { code, reason });
        Ok(())
    }

    fn end_data_frame<F: FnMut(Event<'_>)>(
        &mut self,
        f: Frame,
        on_event: &mut F,
    ) -> Result<(), Error> {
        if !f.fin {
            return Ok(());
        }
        let validate = self.config.validate_utf8;
        let r = &mut self.reader;
        let kind = r
            .msg_kind
            .take()
            .expect("a data frame belongs to a message");
        if r.msg_compressed {
            return self.inflate_and_emit(kind, on_event);
        }
        if kind == DataKind::Text && validate {
            r.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
        }
        let result = emit(kind, &r.msg, validate, on_event);
        release(&mut r.msg);
        result
    }

    #[cfg(feature = "deflate")]
    fn inflate_and_emit<F: FnMut(Event<'_>)>(
        &mut self,
        kind: DataKind,
        on_event: &mut F,
    ) -> Result<(), Error> {
        let codec = self
            .codec
            .as_mut()
            .expect("RSV1 is accepted only with deflate");
        self.scratch.clear();
        codec.decompress(
            &self.reader.msg,
            &mut self.scratch,
            self.config.max_message_size,
        )?;
        release(&mut self.reader.msg);
        let result = emit(kind, &self.scratch, self.config.validate_utf8, on_event);
        release(&mut self.scratch);
        result
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate_and_emit<F: FnMut(Event<'_>)>(
        &mut self,
        _kind: DataKind,
        _on_event: &mut F,
    ) -> Result<(), Error> {
        Err(Error::Rsv1Set)
    }
}
