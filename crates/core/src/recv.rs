//! The frame reader: turns received bytes into messages and control frames, whatever
//! way TCP cut them. Payload bytes are unmasked and UTF-8-checked as they arrive (fail
//! fast, RFC 6455 §8.1); a whole unmasked single-frame message is handed out straight
//! from the input. It decides framing questions only: what a ping or a close frame
//! means for the connection is the caller's (`connection.rs`, `lifecycle.rs`).

use crate::close;
use crate::config::Role;
use crate::error::ProtocolError as Error;
use crate::event::{DataKind, Event};
use crate::frame::{FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::mask::apply_mask;
use crate::send_queue::RETAIN_CAPACITY;
use crate::utf8::{self, Utf8Validator};

#[cfg(feature = "deflate")]
pub(crate) use crate::codec::Codec;
#[cfg(not(feature = "deflate"))]
/// Without the `deflate` feature no codec exists; RSV1 is then always an error.
pub(crate) enum Codec {}

/// The limits the reader enforces, from the connection's `Config`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadLimits {
    pub(crate) role: Role,
    pub(crate) max_message_size: usize,
    pub(crate) max_frame_size: usize,
    pub(crate) max_fragments: usize,
    pub(crate) validate_utf8: bool,
    /// Compressed messages from this size on wait for an inflate job.
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    pub(crate) offload_inflate_min: usize,
}

/// What `Reader::read` found: an [`Event`], plus the raw payload of a close frame (for
/// its echo, RFC 6455 §5.5.1).
pub(crate) enum Incoming<'a> {
    Event(Event<'a>),
    Close {
        code: Option<u16>,
        reason: &'a str,
        payload: &'a [u8],
    },
}

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
    /// No bytes.
    fn empty() -> Self;
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
    fn empty() -> Self {
        &[]
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
    fn empty() -> Self {
        &mut []
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

/// Receive-side state of a connection.
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
    control: Vec<u8>,
    /// Inflated message (compressed messages only), released when large.
    inflated: Vec<u8>,
    /// A close frame was read: nothing after it is parsed (RFC 6455 §5.5.1).
    closed: bool,
    /// A whole compressed message (in `msg`) waits to be inflated by a job.
    inflate: InflateWait,
}

/// Where a compressed message left to a job stands (never left without `deflate`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "deflate"), allow(dead_code))]
enum InflateWait {
    #[default]
    None,
    /// Complete, in `msg`: the next input waits until it is delivered.
    Ready(DataKind),
    /// Its job is out.
    Out(DataKind),
}

impl Reader {
    pub(crate) fn heap_bytes(&self) -> usize {
        self.msg.capacity() + self.control.capacity() + self.inflated.capacity()
    }

    /// Whether parsing waits for a message's inflate job.
    pub(crate) fn paused(&self) -> bool {
        self.inflate != InflateWait::None
    }

    pub(crate) fn inflate_ready(&self) -> bool {
        matches!(self.inflate, InflateWait::Ready(_))
    }

    /// The compressed message for its job.
    #[cfg(feature = "deflate")]
    pub(crate) fn take_inflate_input(&mut self) -> Option<Vec<u8>> {
        let InflateWait::Ready(kind) = self.inflate else {
            return None;
        };
        self.inflate = InflateWait::Out(kind);
        Some(std::mem::take(&mut self.msg))
    }

    /// The job is back: parsing may go on. Returns the message's kind.
    #[cfg(feature = "deflate")]
    pub(crate) fn end_inflate(&mut self) -> Option<DataKind> {
        let InflateWait::Out(kind) = self.inflate else {
            return None;
        };
        self.inflate = InflateWait::None;
        Some(kind)
    }
}

/// The event of a whole message (text checked as UTF-8 when `validate`).
pub(crate) fn message_event(
    kind: DataKind,
    bytes: &[u8],
    validate: bool,
) -> Result<Event<'_>, Error> {
    Ok(match kind {
        DataKind::Binary => Event::Binary(bytes),
        DataKind::Text if validate => {
            Event::Text(utf8::validate(bytes).map_err(|_| Error::InvalidUtf8)?)
        }
        DataKind::Text => Event::UncheckedText(bytes),
    })
}

/// One `read` call's borrowed context.
struct Ctx<'c, F> {
    limits: ReadLimits,
    codec: Option<&'c mut Codec>,
    on: F,
}

fn emit<F: FnMut(Incoming<'_>)>(
    kind: DataKind,
    bytes: &[u8],
    validate: bool,
    on_event: &mut F,
) -> Result<(), Error> {
    on_event(Incoming::Event(message_event(kind, bytes, validate)?));
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

impl Reader {
    /// Parses received bytes; what they complete goes to `on` in order. Stops at a
    /// close frame (the rest of the input is ignored), at the first violation, which
    /// is returned (the caller fails the connection), or at a compressed message left
    /// to an inflate job ([`paused`](Self::paused)); returns the input not parsed.
    /// `codec` is the negotiated permessage-deflate, if any.
    pub(crate) fn read<'a, I: Input<'a>, F: FnMut(Incoming<'_>)>(
        &mut self,
        mut data: I,
        limits: ReadLimits,
        codec: Option<&mut Codec>,
        on: F,
    ) -> (Result<(), Error>, I) {
        let mut cx = Ctx { limits, codec, on };
        let mut result = Ok(());
        while !data.bytes().is_empty() && !self.closed && !self.paused() {
            match self.step(data, &mut cx) {
                Ok(rest) => data = rest,
                Err(e) => {
                    result = Err(e);
                    return (result, I::empty());
                }
            }
        }
        self.release_buffers();
        (result, data)
    }

    /// Large buffers are reused across the messages of one `read` call and freed when
    /// it returns with no message in progress, so an idle connection holds none.
    fn release_buffers(&mut self) {
        if self.msg.is_empty() {
            release(&mut self.msg);
        }
        release(&mut self.inflated);
    }

    /// Reads one header or one piece of payload; returns the rest of the input.
    fn step<'a, I: Input<'a>, F: FnMut(Incoming<'_>)>(
        &mut self,
        mut data: I,
        cx: &mut Ctx<'_, F>,
    ) -> Result<I, Error> {
        if self.frame.is_none() {
            let (header, rest) = self.read_header(data)?;
            data = rest;
            let Some(header) = header else {
                return Ok(data);
            };
            self.begin_frame(header, cx.limits, cx.codec.is_some())?;
            if header.payload_len == 0 {
                self.end_frame(cx)?;
                return Ok(data);
            }
        }
        self.read_payload(data, cx)
    }

    fn read_header<'a, I: Input<'a>>(
        &mut self,
        data: I,
    ) -> Result<(Option<FrameHeader>, I), Error> {
        if self.hdr_len == 0 {
            if let Some((h, n)) = FrameHeader::decode(data.bytes())? {
                return Ok((Some(h), data.split_front(n).1));
            }
        }
        // The header is cut: gather it in `hdr`.
        let take = (MAX_HEADER_LEN - self.hdr_len).min(data.bytes().len());
        self.hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&data.bytes()[..take]);
        match FrameHeader::decode(&self.hdr[..self.hdr_len + take])? {
            None => {
                self.hdr_len += take;
                Ok((None, data.split_front(take).1))
            }
            Some((h, n)) => {
                let used = n - self.hdr_len;
                self.hdr_len = 0;
                Ok((Some(h), data.split_front(used).1))
            }
        }
    }

    /// Checks a header against RFC 6455 §5 and the limits (in `ws`'s order, so the same
    /// input yields the same error).
    fn begin_frame(
        &mut self,
        h: FrameHeader,
        limits: ReadLimits,
        deflate: bool,
    ) -> Result<(), Error> {
        if h.rsv2 || h.rsv3 {
            return Err(Error::Rsv23Set); // §5.2
        }
        let op = OpCode::from_u8(h.opcode)?;
        match op {
            OpCode::Continuation => {
                if h.rsv1 {
                    return Err(Error::Rsv1Set); // RFC 7692 §6.1: RSV1 on the first frame only
                }
                if self.msg_kind.is_none() {
                    return Err(Error::InvalidOpcode(0)); // §5.4: nothing to continue
                }
            }
            OpCode::Text | OpCode::Binary => {
                if h.rsv1 && !deflate {
                    return Err(Error::Rsv1Set);
                }
                if self.msg_kind.is_some() {
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
        match (limits.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(Error::ExpectedMask), // §5.1
            (Role::Client, true) => return Err(Error::UnexpectedMask),
            _ => {}
        }
        if !op.is_control() {
            if op != OpCode::Continuation {
                self.msg_kind = Some(if op == OpCode::Text {
                    DataKind::Text
                } else {
                    DataKind::Binary
                });
                self.msg_compressed = h.rsv1;
                self.fragments = 0;
                self.utf8.reset();
            }
            self.fragments += 1;
            if self.fragments > limits.max_fragments {
                return Err(Error::TooManyFragments);
            }
            let limit = limits.max_message_size as u64;
            if h.payload_len > limits.max_frame_size as u64
                || self.msg.len() as u64 + h.payload_len > limit
            {
                return Err(Error::MessageTooBig);
            }
        }
        self.frame = Some(Frame {
            op,
            fin: h.fin,
            mask: h.mask,
            remaining: h.payload_len,
            done: 0,
        });
        Ok(())
    }

    fn read_payload<'a, I: Input<'a>, F: FnMut(Incoming<'_>)>(
        &mut self,
        data: I,
        cx: &mut Ctx<'_, F>,
    ) -> Result<I, Error> {
        let validate = cx.limits.validate_utf8;
        let f = self.frame.as_mut().expect("a frame is being read");
        let take = f.remaining.min(data.bytes().len() as u64) as usize;
        let (chunk, rest) = data.split_front(take);
        if f.op.is_control() {
            let start = self.control.len();
            self.control.extend_from_slice(chunk.bytes());
            if let Some(k) = f.mask {
                apply_mask(&mut self.control[start..], k, f.done as usize);
            }
            f.remaining -= take as u64;
            f.done += take as u64;
            if f.remaining == 0 {
                self.end_frame(cx)?;
            }
            return Ok(rest);
        }
        let kind = self.msg_kind.expect("a data frame belongs to a message");
        let whole = f.done == 0 && take as u64 == f.remaining && f.fin && self.fragments == 1;
        if whole && !self.msg_compressed && (f.mask.is_none() || I::WRITABLE) {
            // A whole message in the input: hand it out without copying, unmasking it
            // where it lies when needed.
            let bytes = match f.mask {
                None => chunk.into_slice(),
                Some(k) => chunk.unmask_in_place(k).expect("writable input"),
            };
            self.frame = None;
            self.msg_kind = None;
            emit(kind, bytes, validate, &mut cx.on)?;
            return Ok(rest);
        }
        self.copy_payload(chunk.bytes(), kind, cx)?;
        Ok(rest)
    }

    /// Appends payload bytes to the message being assembled, unmasking them and
    /// checking text as it comes (fail fast, RFC 6455 §8.1).
    fn copy_payload<F: FnMut(Incoming<'_>)>(
        &mut self,
        chunk: &[u8],
        kind: DataKind,
        cx: &mut Ctx<'_, F>,
    ) -> Result<(), Error> {
        let f = self.frame.as_mut().expect("a frame is being read");
        if self.msg.is_empty() {
            self.msg.reserve(f.remaining.min(MAX_RESERVE) as usize);
        }
        let start = self.msg.len();
        self.msg.extend_from_slice(chunk);
        if let Some(k) = f.mask {
            apply_mask(&mut self.msg[start..], k, f.done as usize);
        }
        if kind == DataKind::Text && cx.limits.validate_utf8 && !self.msg_compressed {
            self.utf8
                .feed(&self.msg[start..])
                .map_err(|_| Error::InvalidUtf8)?;
        }
        f.remaining -= chunk.len() as u64;
        f.done += chunk.len() as u64;
        if f.remaining == 0 {
            self.end_frame(cx)?;
        }
        Ok(())
    }

    fn end_frame<F: FnMut(Incoming<'_>)>(&mut self, cx: &mut Ctx<'_, F>) -> Result<(), Error> {
        let f = self.frame.take().expect("a frame is being read");
        match f.op {
            OpCode::Ping => (cx.on)(Incoming::Event(Event::Ping(&self.control))),
            OpCode::Pong => (cx.on)(Incoming::Event(Event::Pong(&self.control))),
            OpCode::Close => {
                let (code, reason) = close::parse_payload(&self.control)?;
                self.closed = true;
                (cx.on)(Incoming::Close {
                    code,
                    reason,
                    payload: &self.control,
                });
            }
            _ => return self.end_data_frame(f, cx),
        }
        self.control.clear();
        Ok(())
    }

    fn end_data_frame<F: FnMut(Incoming<'_>)>(
        &mut self,
        f: Frame,
        cx: &mut Ctx<'_, F>,
    ) -> Result<(), Error> {
        if !f.fin {
            return Ok(());
        }
        let validate = cx.limits.validate_utf8;
        let kind = self
            .msg_kind
            .take()
            .expect("a data frame belongs to a message");
        if self.msg_compressed {
            return self.inflate_and_emit(kind, cx);
        }
        if kind == DataKind::Text && validate {
            self.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
            (cx.on)(Incoming::Event(Event::Text(checked_text(&self.msg))));
        } else {
            emit(kind, &self.msg, validate, &mut cx.on)?;
        }
        self.msg.clear();
        Ok(())
    }

    #[cfg(feature = "deflate")]
    fn inflate_and_emit<F: FnMut(Incoming<'_>)>(
        &mut self,
        kind: DataKind,
        cx: &mut Ctx<'_, F>,
    ) -> Result<(), Error> {
        let Some(codec) = cx.codec.as_deref_mut() else {
            return Err(Error::Rsv1Set); // RSV1 is accepted only with deflate
        };
        if self.msg.len() >= cx.limits.offload_inflate_min {
            // Large: inflated by a job, maybe on another thread; parsing waits for it.
            self.inflate = InflateWait::Ready(kind);
            return Ok(());
        }
        self.inflated.clear();
        codec.decompress(&self.msg, &mut self.inflated, cx.limits.max_message_size)?;
        self.msg.clear();
        let result = emit(kind, &self.inflated, cx.limits.validate_utf8, &mut cx.on);
        self.inflated.clear();
        result
    }

    #[cfg(not(feature = "deflate"))]
    fn inflate_and_emit<F: FnMut(Incoming<'_>)>(
        &mut self,
        _kind: DataKind,
        _cx: &mut Ctx<'_, F>,
    ) -> Result<(), Error> {
        Err(Error::Rsv1Set)
    }
}
