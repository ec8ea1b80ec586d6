//! The frame reader: turns received bytes into events, whatever way TCP cut them.
//! Payload bytes are unmasked and UTF-8-checked as they arrive (fail fast, RFC 6455
//! §8.1); a whole unmasked single-frame message is handed out straight from the input.

use crate::close;
use crate::error::Error;
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::protocol::{Connection, DataKind, Event, Role, RETAIN_CAPACITY};
use crate::utf8::{self, Utf8Validator};

/// Received bytes, read-only (`feed`) or writable (`feed_mut`, which unmasks whole
/// frames in place and hands out slices of the caller's buffer: no copy at all).
pub(crate) trait Input<'a>: Sized {
    const WRITABLE: bool;
    fn bytes(&self) -> &[u8];
    fn split_front(self, n: usize) -> (Self, Self);
    /// Unmasks in place and returns the bytes, or `None` when they are read-only.
    fn unmask_in_place(self, key: [u8; 4]) -> Option<&'a [u8]>;
    /// The bytes as they are (for unmasked frames).
    fn into_slice(self) -> &'a [u8];
}

impl<'a> Input<'a> for &'a [u8] {
    const WRITABLE: bool = false;
    fn bytes(&self) -> &[u8] {
        self
    }
    fn split_front(self, n: usize) -> (Self, Self) {
        self.split_at(n)
    }
    fn unmask_in_place(self, _key: [u8; 4]) -> Option<&'a [u8]> {
        None
    }
    fn into_slice(self) -> &'a [u8] {
        self
    }
}

impl<'a> Input<'a> for &'a mut [u8] {
    const WRITABLE: bool = true;
    fn bytes(&self) -> &[u8] {
        self
    }
    fn split_front(self, n: usize) -> (Self, Self) {
        self.split_at_mut(n)
    }
    fn unmask_in_place(self, key: [u8; 4]) -> Option<&'a [u8]> {
        apply_mask(self, key, 0);
        Some(self)
    }
    fn into_slice(self) -> &'a [u8] {
        self
    }
}

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

/// A message whose every byte went through `Utf8Validator::feed` (in `copy_payload`)
/// and whose `finish` succeeded: it is UTF-8 already, so it is not checked again.
fn checked_text(bytes: &[u8]) -> &str {
    debug_assert!(std::str::from_utf8(bytes).is_ok(), "validated text");
    // SAFETY: the incremental validator accepted all of `bytes` in order and `finish`
    // found no cut sequence at the end, which is exactly "valid UTF-8" (the debug
    // assertion re-checks it in every test build; see
    // `conformance_tests::fragmented_text_is_validated_once_and_exactly`).
    unsafe { std::str::from_utf8_unchecked(bytes) }
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
    pub fn feed<F: FnMut(Event<'_>)>(&mut self, data: &[u8], on_event: F) -> Result<(), Error> {
        self.drive(data, on_event)
    }

    /// Like [`feed`](Self::feed), but may unmask frames inside `data` and hand out
    /// slices of it instead of copying them: the fastest path, for callers that own
    /// their read buffer. `data` is left in an unspecified state.
    pub fn feed_mut<F: FnMut(Event<'_>)>(
        &mut self,
        data: &mut [u8],
        on_event: F,
    ) -> Result<(), Error> {
        self.drive(data, on_event)
    }

    fn drive<'a, I: Input<'a>, F: FnMut(Event<'_>)>(
        &mut self,
        mut data: I,
        mut on_event: F,
    ) -> Result<(), Error> {
        while !data.bytes().is_empty() && !self.failed && self.close_received.is_none() {
            match self.step(data, &mut on_event) {
                Ok(rest) => data = rest,
                Err(e) => {
                    self.release_buffers();
                    return Err(self.fail(e));
                }
            }
        }
        self.release_buffers();
        Ok(())
    }

    /// Large buffers are reused across the messages of one `feed` call and freed when
    /// it returns with no message in progress, so an idle connection holds none.
    fn release_buffers(&mut self) {
        if self.reader.msg.is_empty() {
            release(&mut self.reader.msg);
        }
        #[cfg(feature = "deflate")]
        release(&mut self.scratch);
    }

    /// Reads one header or one piece of payload; returns the rest of the input.
    fn step<'a, I: Input<'a>, F: FnMut(Event<'_>)>(
        &mut self,
        mut data: I,
        on_event: &mut F,
    ) -> Result<I, Error> {
        if self.reader.frame.is_none() {
            let (header, rest) = self.read_header(data)?;
            data = rest;
            let Some(header) = header else {
                return Ok(data);
            };
            self.begin_frame(header)?;
            if header.payload_len == 0 {
                self.end_frame(on_event)?;
                return Ok(data);
            }
        }
        self.read_payload(data, on_event)
    }

    fn read_header<'a, I: Input<'a>>(
        &mut self,
        data: I,
    ) -> Result<(Option<FrameHeader>, I), Error> {
        let r = &mut self.reader;
        if r.hdr_len == 0 {
            if let Some((h, n)) = FrameHeader::decode(data.bytes())? {
                return Ok((Some(h), data.split_front(n).1));
            }
        }
        // The header is cut: gather it in `hdr`.
        let take = (MAX_HEADER_LEN - r.hdr_len).min(data.bytes().len());
        r.hdr[r.hdr_len..r.hdr_len + take].copy_from_slice(&data.bytes()[..take]);
        match FrameHeader::decode(&r.hdr[..r.hdr_len + take])? {
            None => {
                r.hdr_len += take;
                Ok((None, data.split_front(take).1))
            }
            Some((h, n)) => {
                let used = n - r.hdr_len;
                r.hdr_len = 0;
                Ok((Some(h), data.split_front(used).1))
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

    fn read_payload<'a, I: Input<'a>, F: FnMut(Event<'_>)>(
        &mut self,
        data: I,
        on_event: &mut F,
    ) -> Result<I, Error> {
        let validate = self.config.validate_utf8;
        let r = &mut self.reader;
        let f = r.frame.as_mut().expect("a frame is being read");
        let take = f.remaining.min(data.bytes().len() as u64) as usize;
        let (chunk, rest) = data.split_front(take);
        if f.op.is_control() {
            let start = r.control.len();
            r.control.extend_from_slice(chunk.bytes());
            if let Some(k) = f.mask {
                apply_mask(&mut r.control[start..], k, f.done as usize);
            }
            f.remaining -= take as u64;
            f.done += take as u64;
            if f.remaining == 0 {
                self.end_frame(on_event)?;
            }
            return Ok(rest);
        }
        let kind = r.msg_kind.expect("a data frame belongs to a message");
        let whole = f.done == 0 && take as u64 == f.remaining && f.fin && r.fragments == 1;
        if whole && !r.msg_compressed && (f.mask.is_none() || I::WRITABLE) {
            // A whole message in the input: hand it out without copying, unmasking it
            // where it lies when needed.
            let bytes = match f.mask {
                None => chunk.into_slice(),
                Some(k) => chunk.unmask_in_place(k).expect("writable input"),
            };
            r.frame = None;
            r.msg_kind = None;
            emit(kind, bytes, validate, on_event)?;
            return Ok(rest);
        }
        self.copy_payload(chunk.bytes(), kind, validate, on_event)?;
        Ok(rest)
    }

    /// Appends payload bytes to the message being assembled, unmasking them and
    /// checking text as it comes (fail fast, RFC 6455 §8.1).
    fn copy_payload<F: FnMut(Event<'_>)>(
        &mut self,
        chunk: &[u8],
        kind: DataKind,
        validate: bool,
        on_event: &mut F,
    ) -> Result<(), Error> {
        let r = &mut self.reader;
        let f = r.frame.as_mut().expect("a frame is being read");
        if r.msg.is_empty() {
            r.msg.reserve(f.remaining.min(MAX_RESERVE) as usize);
        }
        let start = r.msg.len();
        r.msg.extend_from_slice(chunk);
        if let Some(k) = f.mask {
            apply_mask(&mut r.msg[start..], k, f.done as usize);
        }
        if kind == DataKind::Text && validate && !r.msg_compressed {
            r.utf8
                .feed(&r.msg[start..])
                .map_err(|_| Error::InvalidUtf8)?;
        }
        f.remaining -= chunk.len() as u64;
        f.done += chunk.len() as u64;
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
        if !self.close_sent {
            // §5.5.1: echo the status (and, as ws, the reason) — the payload as received.
            self.pending_close = Some(self.reader.control.clone());
        }
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
            on_event(Event::Text(checked_text(&r.msg)));
        } else {
            emit(kind, &r.msg, validate, on_event)?;
        }
        r.msg.clear();
        Ok(())
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
        self.reader.msg.clear();
        let result = emit(kind, &self.scratch, self.config.validate_utf8, on_event);
        self.scratch.clear();
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
