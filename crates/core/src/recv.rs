//! The frame reader: turns received bytes into messages and control frames, whatever
//! way TCP cut them. Payload bytes are unmasked and UTF-8-checked as they arrive (fail
//! fast, RFC 6455 §8.1); a whole unmasked single-frame message is handed out straight
//! from the input. It decides framing questions only: what a ping or a close frame
//! means for the connection is the caller's (`connection.rs`, `lifecycle.rs`).

use std::mem::MaybeUninit;

use crate::close;
use crate::cold::Cold;
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
    pub(crate) max_buffered_chunks: usize,
    pub(crate) report_fragments: bool,
    pub(crate) validate_utf8: bool,
    /// Compressed messages from this size on wait for an inflate job.
    #[cfg_attr(not(feature = "deflate"), allow(dead_code))]
    pub(crate) offload_inflate_min: usize,
    /// Assembled messages from this size on are moved out (`Incoming::Message`).
    pub(crate) hand_off_min: usize,
}

/// What `Reader::read` found: an [`Event`], plus the raw payload of a close frame (for
/// its echo, RFC 6455 §5.5.1).
pub(crate) enum Incoming<'a> {
    Event(Event<'a>),
    /// A whole message of at least `ReadLimits::hand_off_min` bytes that was
    /// assembled (or inflated) here, its buffer moved out (text checked as for
    /// `Event::Text` when validating).
    Message(DataKind, Vec<u8>),
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
    /// Buffers of compressed messages and of `report_fragments`.
    spill: Cold<ReaderSpill>,
    /// A close frame was read: nothing after it is parsed (RFC 6455 §5.5.1).
    closed: bool,
    /// How many received chunks hold the unread part of the current frame step, counted
    /// as `ws`'s receiver counts its buffered chunks (`maxBufferedChunks`).
    pending_chunks: usize,
    /// A whole compressed message (in `msg`) waits to be inflated by a job.
    inflate: InflateWait,
    /// Length of the room `payload_room` handed out; 0 once anything else happened.
    room: usize,
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

/// What only some readers use (see `Cold`).
#[derive(Debug, Default)]
struct ReaderSpill {
    /// Inflated message (compressed messages only), released when large.
    inflated: Vec<u8>,
    /// End offset of each non-empty frame of the message being assembled (only with
    /// `report_fragments`).
    frame_ends: Vec<usize>,
}

impl Reader {
    pub(crate) fn heap_bytes(&self) -> usize {
        self.msg.capacity()
            + self.control.capacity()
            + self.spill.box_bytes()
            + self.spill.get().map_or(0, |s| {
                s.inflated.capacity() + s.frame_ends.capacity() * std::mem::size_of::<usize>()
            })
    }

    /// Bytes of the current frame step already received, where `ws`'s receiver steps
    /// are: the first two header bytes, the extended length, the mask key, the payload.
    /// 0 at a step boundary.
    fn step_bytes(&self) -> usize {
        if let Some(f) = &self.frame {
            return usize::try_from(f.done).unwrap_or(usize::MAX);
        }
        let h = self.hdr_len;
        if h < 2 {
            return h;
        }
        let ext = match self.hdr[1] & 0x7f {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        if h < 2 + ext {
            h - 2
        } else {
            h - 2 - ext
        }
    }

    /// After a chunk of `len` bytes: the unread step began in this chunk (1 chunk holds
    /// it) or before it (one more chunk holds it).
    fn count_pending_chunks(&mut self, len: usize) {
        let pending = self.step_bytes();
        self.pending_chunks = match pending {
            0 => 0,
            p if p <= len => 1,
            _ => self.pending_chunks.saturating_add(1),
        };
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
        self.room = 0;
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
        crate::spare_buffers::recycle_buffer(std::mem::take(buf));
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
        self.room = 0;
        let len = data.bytes().len();
        if self.closed || len == 0 {
            return (Ok(()), data);
        }
        if self.pending_chunks >= limits.max_buffered_chunks {
            return (Err(Error::TooManyBufferedChunks), I::empty());
        }
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
        if result.is_ok() {
            self.count_pending_chunks(len);
        }
        (result, data)
    }

    /// Large buffers are reused across the messages of one `read` call and freed when
    /// it returns with no message in progress, so an idle connection holds none.
    fn release_buffers(&mut self) {
        if self.msg.is_empty() {
            release(&mut self.msg);
        }
        let idle = self.msg_kind.is_none();
        if let Some(s) = self.spill.existing_mut() {
            release(&mut s.inflated);
            if idle && s.frame_ends.capacity() > 64 {
                s.frame_ends = Vec::new();
            }
        }
        if idle {
            self.spill
                .free_if(|s| s.inflated.capacity() == 0 && s.frame_ends.capacity() == 0);
        }
    }

    /// Reads one header or one piece of payload; returns the rest of the input.
    fn step<'a, I: Input<'a>, F: FnMut(Incoming<'_>)>(
        &mut self,
        mut data: I,
        cx: &mut Ctx<'_, F>,
    ) -> Result<I, Error> {
        if self.frame.is_none() {
            let (header, rest) = self.read_header(data, cx.limits, cx.codec.is_some())?;
            data = rest;
            let Some(header) = header else {
                return Ok(data);
            };
            self.begin_frame(header);
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
        limits: ReadLimits,
        deflate: bool,
    ) -> Result<(Option<FrameHeader>, I), Error> {
        if self.hdr_len == 0 {
            self.check_header_prefix(data.bytes(), limits, deflate)?;
            if let Some((h, n)) = FrameHeader::decode(data.bytes())? {
                return Ok((Some(h), data.split_front(n).1));
            }
        }
        // The header is cut: gather it in `hdr`.
        let take = (MAX_HEADER_LEN - self.hdr_len).min(data.bytes().len());
        let mut hdr = self.hdr;
        hdr[self.hdr_len..self.hdr_len + take].copy_from_slice(&data.bytes()[..take]);
        self.hdr = hdr;
        // What has arrived of the header is checked at once, as `ws` checks each piece.
        self.check_header_prefix(&hdr[..self.hdr_len + take], limits, deflate)?;
        match FrameHeader::decode(&hdr[..self.hdr_len + take])? {
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

    /// Checks the received start of a header against RFC 6455 §5 and the limits, in
    /// `ws`'s order and as soon as `ws` does: the first two bytes (reserved bits,
    /// opcode and sequence, control frame rules, masking), then the length (its 64-bit
    /// range, the message size limit), whatever has arrived of the rest.
    fn check_header_prefix(
        &self,
        bytes: &[u8],
        limits: ReadLimits,
        deflate: bool,
    ) -> Result<(), Error> {
        if bytes.len() < 2 {
            return Ok(());
        }
        let (b0, b1) = (bytes[0], bytes[1]);
        let (fin, rsv1, opcode, len7) = (b0 & 0x80 != 0, b0 & 0x40 != 0, b0 & 0x0f, b1 & 0x7f);
        if b0 & 0x30 != 0 {
            return Err(Error::Rsv23Set); // §5.2
        }
        if rsv1 && !deflate {
            return Err(Error::Rsv1Set); // §5.2: no extension defines it
        }
        match opcode {
            0 => {
                if rsv1 {
                    return Err(Error::Rsv1Set); // RFC 7692 §6.1: RSV1 on the first frame only
                }
                if self.msg_kind.is_none() {
                    return Err(Error::InvalidOpcode(0)); // §5.4: nothing to continue
                }
            }
            1 | 2 => {
                if self.msg_kind.is_some() {
                    return Err(Error::InvalidOpcode(opcode)); // §5.4: interleaved message
                }
            }
            8..=10 => {
                if !fin {
                    return Err(Error::FragmentedControl); // §5.5
                }
                if rsv1 {
                    return Err(Error::Rsv1Set);
                }
                if len7 > 125 || (opcode == 8 && len7 == 1) {
                    // §5.5, §5.5.1 (ws names the 7-bit length field)
                    return Err(Error::InvalidControlLength(u64::from(len7)));
                }
            }
            _ => return Err(Error::InvalidOpcode(opcode)),
        }
        match (limits.role, b1 & 0x80 != 0) {
            (Role::Server, false) => return Err(Error::ExpectedMask), // §5.1
            (Role::Client, true) => return Err(Error::UnexpectedMask),
            _ => {}
        }
        let len = match len7 {
            126 if bytes.len() >= 4 => u64::from(u16::from_be_bytes([bytes[2], bytes[3]])),
            127 if bytes.len() >= 10 => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&bytes[2..10]);
                let n = u64::from_be_bytes(b);
                // §5.2: the most significant bit MUST be 0; ws also refuses > 2^53 - 1.
                if n > (1u64 << 53) - 1 {
                    return Err(Error::UnsupportedLength);
                }
                n
            }
            126 | 127 => return Ok(()),
            n => u64::from(n),
        };
        if opcode < 8
            && len > 0
            && (len > limits.max_frame_size as u64
                || self.msg.len() as u64 + len > limits.max_message_size as u64)
        {
            return Err(Error::MessageTooBig);
        }
        Ok(())
    }

    /// Starts reading a frame whose header passed [`Self::check_header_prefix`].
    fn begin_frame(&mut self, h: FrameHeader) {
        let op = OpCode::from_u8(h.opcode).expect("checked opcode");
        if !op.is_control() && op != OpCode::Continuation {
            self.msg_kind = Some(if op == OpCode::Text {
                DataKind::Text
            } else {
                DataKind::Binary
            });
            self.msg_compressed = h.rsv1;
            self.fragments = 0;
            if let Some(s) = self.spill.existing_mut() {
                s.frame_ends.clear();
            }
            self.utf8.reset();
        }
        self.frame = Some(Frame {
            op,
            fin: h.fin,
            mask: h.mask,
            remaining: h.payload_len,
            done: 0,
        });
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
        let whole = f.done == 0
            && take as u64 == f.remaining
            && f.fin
            && self.fragments == 0
            && cx.limits.max_fragments >= 1;
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
            crate::spare_buffers::reserve(&mut self.msg, f.remaining.min(MAX_RESERVE) as usize);
        }
        let start = self.msg.len();
        self.msg.extend_from_slice(chunk);
        self.appended(start, kind, cx)
    }

    /// Payload bytes of the current data frame were appended to `msg` from `start`:
    /// unmasks and checks them, and ends the frame when they were its last.
    fn appended<F: FnMut(Incoming<'_>)>(
        &mut self,
        start: usize,
        kind: DataKind,
        cx: &mut Ctx<'_, F>,
    ) -> Result<(), Error> {
        let f = self.frame.as_mut().expect("a frame is being read");
        let added = self.msg.len() - start;
        if let Some(k) = f.mask {
            apply_mask(&mut self.msg[start..], k, f.done as usize);
        }
        if kind == DataKind::Text && cx.limits.validate_utf8 && !self.msg_compressed {
            self.utf8
                .feed(&self.msg[start..])
                .map_err(|_| Error::InvalidUtf8)?;
        }
        f.remaining -= added as u64;
        f.done += added as u64;
        if f.remaining == 0 {
            self.end_frame(cx)?;
        }
        Ok(())
    }

    /// Room at the end of the message being assembled for the current data frame's
    /// next payload bytes, when `min` or more are still to come: a transport reads
    /// them there instead of into its own buffer (one copy fewer for large messages).
    /// At most `max` bytes, never past the frame. Reserves as `copy_payload` does: at
    /// most `MAX_RESERVE` ahead of what arrived.
    pub(crate) fn payload_room(
        &mut self,
        min: usize,
        max: usize,
        limits: &ReadLimits,
    ) -> Option<&mut [MaybeUninit<u8>]> {
        if self.closed || self.paused() || self.pending_chunks >= limits.max_buffered_chunks {
            return None;
        }
        let f = self.frame.as_ref()?;
        if f.op.is_control() || f.remaining < min.max(1) as u64 {
            return None;
        }
        let want = f.remaining.min(max.max(1) as u64) as usize;
        if self.msg.capacity() - self.msg.len() < want {
            crate::spare_buffers::reserve(
                &mut self.msg,
                want.max(f.remaining.min(MAX_RESERVE) as usize),
            );
        }
        self.room = want;
        Some(&mut self.msg.spare_capacity_mut()[..want])
    }

    /// The first `n` bytes of the room last returned by `payload_room` were received:
    /// parsed as if they had come through `read`.
    ///
    /// # Safety
    /// Those `n` bytes were written (initialized). `n` past the room's length, or a
    /// call after anything else was done to the reader, is ignored.
    pub(crate) unsafe fn received_in_room<F: FnMut(Incoming<'_>)>(
        &mut self,
        n: usize,
        limits: ReadLimits,
        codec: Option<&mut Codec>,
        on: F,
    ) -> Result<(), Error> {
        let room = std::mem::take(&mut self.room);
        if n == 0 || n > room || self.msg.capacity() - self.msg.len() < n {
            return Ok(());
        }
        let Some(kind) = self.msg_kind else {
            return Ok(());
        };
        let start = self.msg.len();
        // SAFETY: `n` ≤ the spare capacity reserved by `payload_room` (checked above,
        // and nothing touched `msg` since: any other call clears `room`), and the
        // caller wrote those bytes.
        unsafe { self.msg.set_len(start + n) };
        let mut cx = Ctx { limits, codec, on };
        let result = self.appended(start, kind, &mut cx);
        self.release_buffers();
        if result.is_ok() {
            self.count_pending_chunks(n);
        }
        result
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
        // ws counts a message's frames once each frame's payload has arrived.
        self.fragments += 1;
        if self.fragments > cx.limits.max_fragments {
            return Err(Error::TooManyFragments);
        }
        if cx.limits.report_fragments && f.done > 0 {
            self.spill.get_mut().frame_ends.push(self.msg.len());
        }
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
        if let Some(s) = self.spill.get() {
            if kind == DataKind::Binary && s.frame_ends.len() > 1 {
                (cx.on)(Incoming::Event(Event::FrameEnds(&s.frame_ends)));
            }
        }
        if kind == DataKind::Text && validate {
            self.utf8.finish().map_err(|_| Error::InvalidUtf8)?;
        }
        if self.msg.len() >= cx.limits.hand_off_min {
            (cx.on)(Incoming::Message(kind, std::mem::take(&mut self.msg)));
        } else if kind == DataKind::Text && validate {
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
        let inflated = &mut self.spill.get_mut().inflated;
        inflated.clear();
        codec.decompress(&self.msg, inflated, cx.limits.max_message_size)?;
        self.msg.clear();
        if inflated.len() >= cx.limits.hand_off_min {
            let text = kind == DataKind::Text && cx.limits.validate_utf8;
            if text && utf8::validate(inflated).is_err() {
                return Err(Error::InvalidUtf8);
            }
            (cx.on)(Incoming::Message(kind, std::mem::take(inflated)));
            return Ok(());
        }
        let result = emit(kind, inflated, cx.limits.validate_utf8, &mut cx.on);
        inflated.clear();
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

#[cfg(test)]
mod tests {
    use crate::{Config, Connection, OwnedEvent, ProtocolError, Role};

    /// A masked client frame (mask key 0: the payload reads as is).
    fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() < 126);
        let mut f = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        f.extend_from_slice(payload);
        f
    }

    fn server(config: Config) -> Connection {
        Connection::new(Role::Server, config)
    }

    #[test]
    fn rfc6455_5_4_frame_ends_of_a_fragmented_binary_message() {
        let mut c = server(Config {
            report_fragments: true,
            ..Config::default()
        });
        let mut bytes = frame(0x02, b"ab");
        bytes.extend(frame(0x00, b""));
        bytes.extend(frame(0x00, b"cde"));
        bytes.extend(frame(0x80, b"f"));
        bytes.extend(frame(0x82, b"whole"));
        let mut out = Vec::new();
        c.feed_owned(&bytes, &mut out).unwrap();
        assert_eq!(
            out,
            vec![
                OwnedEvent::FrameEnds(vec![2, 5, 6]),
                OwnedEvent::Binary(b"abcdef".to_vec()),
                OwnedEvent::Binary(b"whole".to_vec()),
            ]
        );
        // Off by default: no extra event.
        let mut c = server(Config::default());
        let mut out = Vec::new();
        c.feed_owned(&bytes, &mut out).unwrap();
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn trickled_frame_steps_count_chunks_as_ws() {
        let config = Config {
            max_buffered_chunks: 3,
            ..Config::default()
        };
        let f = frame(0x82, b"hello");
        // Whole steps per chunk (2 header bytes, mask key, payload): nothing is
        // buffered between chunks, any number of chunks is fine.
        let mut c = server(config.clone());
        let mut out = Vec::new();
        for piece in [&f[..2], &f[2..6], &f[6..]] {
            c.feed_owned(piece, &mut out).unwrap();
        }
        assert_eq!(out, vec![OwnedEvent::Binary(b"hello".to_vec())]);
        // The payload in single bytes: the 4th chunk finds 3 chunks buffered.
        let mut c = server(config.clone());
        let mut out = Vec::new();
        c.feed_owned(&f[..6], &mut out).unwrap();
        for b in &f[6..9] {
            c.feed_owned(std::slice::from_ref(b), &mut out).unwrap();
        }
        assert_eq!(
            c.feed_owned(&f[9..10], &mut out),
            Err(ProtocolError::TooManyBufferedChunks)
        );
        let e = ProtocolError::TooManyBufferedChunks;
        assert_eq!(
            (e.close_code(), e.ws_code()),
            (1008, "WS_ERR_TOO_MANY_BUFFERED_PARTS")
        );
        assert_eq!(e.to_string(), "Too many buffered chunks");
    }
}
