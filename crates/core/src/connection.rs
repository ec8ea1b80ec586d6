//! `Connection`: one WebSocket after its opening handshake. It joins the frame reader
//! (`recv.rs`), the send queue (`send_queue.rs`) and the lifecycle (`lifecycle.rs`):
//! bytes in → events out; calls in → frames queued for the transport.

use std::io::IoSlice;
use std::mem::MaybeUninit;
use std::sync::Arc;

use bytes::Bytes;

use crate::close;
use crate::cold::Cold;
use crate::config::{Config, Role};
use crate::deferred::{Deferred, FrameInfo, Waiting};
use crate::error::{ProtocolError, UsageError};
use crate::event::{DataKind, Event, OwnedEvent};
use crate::frame::{write_frame, FrameHeader, OpCode, MAX_HEADER_LEN};
use crate::keepalive::{Keepalive, KeepaliveAction};
use crate::lifecycle::{DestroyReason, Lifecycle, TransportAction};
use crate::recv::{Codec, Incoming, Input, ReadLimits, Reader};
use crate::rng;
use crate::send_queue::SendQueue;

/// Most slices `send_writing` hands to one write: the queue's segments, header, payload.
const WRITE_THROUGH_IOV: usize = 64;
#[cfg(feature = "deflate")]
use crate::send_queue::RETAIN_CAPACITY;

#[cfg(feature = "deflate")]
use crate::codec::{DeflateJob, InflateJob};
#[cfg(feature = "deflate")]
use crate::deflate::DeflateParams;

/// RFC 6455 §7 states after the opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum State {
    /// Data flows both ways.
    Open,
    /// One side has sent a close frame, or the peer ended the transport.
    Closing,
    /// Both close frames were exchanged, the connection failed, or it was destroyed.
    Closed,
}

/// Options of [`Connection::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Last fragment of the message. `false` starts or continues a fragmented message.
    pub fin: bool,
    /// Compress when permessage-deflate is on and the message is over the threshold.
    pub compress: bool,
    /// Client only: mask the frame (RFC 6455 §5.1 requires it; `false` exists for
    /// `ws`'s `mask: false` option and for tests).
    pub mask: bool,
    /// Client only: the masking key to use; `None` draws a random one.
    pub mask_key: Option<[u8; 4]>,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            fin: true,
            compress: true,
            mask: true,
            mask_key: None,
        }
    }
}

/// What [`Connection::feed_delivering`] hands out: an event, or a whole message whose
/// buffer moves to the caller.
#[derive(Debug)]
#[non_exhaustive]
pub enum Delivery<'a> {
    /// An event, payloads borrowed (from the input or the connection).
    Event(Event<'a>),
    /// A whole message assembled by the connection (text UTF-8 checked when
    /// `validate_utf8` is on).
    Message(DataKind, Vec<u8>),
}

/// A `Delivery` callback for a caller that takes events only (every message borrowed):
/// with no hand-off asked for, `Delivery::Message` never comes; were it to, it is
/// passed on borrowed all the same.
fn events_only<F: FnMut(Event<'_>)>(mut on_event: F) -> impl FnMut(Delivery<'_>) {
    move |d| match d {
        Delivery::Event(e) => on_event(e),
        Delivery::Message(kind, data) => {
            let event = match kind {
                DataKind::Binary => Event::Binary(&data),
                DataKind::Text => match std::str::from_utf8(&data) {
                    Ok(text) => Event::Text(text),
                    Err(_) => Event::UncheckedText(&data),
                },
            };
            on_event(event)
        }
    }
}

/// How a queued send left the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendStatus {
    /// Queued; the queue is within `Config::high_water_mark`.
    Queued,
    /// Queued, and the queue is now over `Config::high_water_mark`: wait for it to
    /// drain before sending more (the `stream.write() === false` convention).
    OverHighWaterMark,
    /// Waiting behind a message compressed off the caller's thread (or being that
    /// message): take the job with [`Connection::take_deflate_job`] when none is out.
    Deferred,
}

/// A message framed once, to be queued on many server connections without a copy
/// (broadcast, pub/sub). Uncompressed, unmasked: server-to-client only (RFC 6455 §5.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMessage {
    frame: Bytes,
}

impl PreparedMessage {
    /// Frames a whole message.
    pub fn new(kind: DataKind, data: &[u8]) -> Self {
        let op = match kind {
            DataKind::Text => OpCode::Text,
            DataKind::Binary => OpCode::Binary,
        };
        let mut v = Vec::new();
        write_frame(&mut v, op, true, false, None, data);
        PreparedMessage { frame: v.into() }
    }

    /// The encoded frame.
    pub fn frame(&self) -> &[u8] {
        &self.frame
    }
}

/// One frame described field by field, for callers that frame data themselves and
/// queue it later with [`Connection::send_frame`] (e.g. `ws`'s `Sender.frame`, which
/// socket.io uses to frame a broadcast once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSpec {
    /// The opcode (RFC 6455 §5.2); reserved values are refused.
    pub opcode: u8,
    /// Last frame of the message.
    pub fin: bool,
    /// RSV1: set on the first frame of a compressed message (RFC 7692 §6).
    pub rsv1: bool,
    /// The masking key, when the frame goes from a client (RFC 6455 §5.3).
    pub mask: Option<[u8; 4]>,
}

impl FrameSpec {
    /// Encodes the frame header and `payload` (masked when asked).
    pub fn encode(&self, payload: &[u8]) -> Result<Vec<u8>, UsageError> {
        let op =
            OpCode::from_u8(self.opcode).map_err(|_| UsageError::InvalidOpcode(self.opcode))?;
        if op.is_control() && (payload.len() > 125 || !self.fin) {
            return Err(UsageError::ControlTooLong);
        }
        let mut v = Vec::new();
        write_frame(&mut v, op, self.fin, self.rsv1, self.mask, payload);
        Ok(v)
    }
}

const TRAFFIC_RX: u8 = 1;
const TRAFFIC_PONG: u8 = 2;
const TRAFFIC_TX: u8 = 4;
/// The keepalive was started once (it is not restarted after it ended).
const KEEPALIVE_STARTED: u8 = 8;

/// A WebSocket connection after a successful opening handshake (sans-IO).
#[derive(Debug)]
pub struct Connection {
    role: Role,
    /// Shared by the connections a caller creates from one `Arc<Config>`: the same
    /// limits are not copied into every idle connection.
    config: Arc<Config>,
    reader: Reader,
    queue: SendQueue,
    life: Lifecycle,
    /// Some while a fragmented message is being sent: whether it is compressed.
    sending_fragmented: Option<bool>,
    /// Heartbeat / idle / lifetime deadlines, once started (`Config::keepalive`).
    keepalive: Option<Box<Keepalive>>,
    /// Traffic since the keepalive was last told the time (`TRAFFIC_*` bits).
    traffic: u8,
    /// Bytes the transport holds beyond the send queue (for `max_backpressure`).
    transport_buffered: usize,
    #[cfg(feature = "deflate")]
    codec: Option<Box<Codec>>,
    /// Calls waiting behind a compression job (see `deferred.rs`).
    deferred: Deferred,
    /// Buffers only permessage-deflate uses.
    spill: Cold<ConnectionSpill>,
}

/// What only connections with permessage-deflate use (see `Cold`).
#[derive(Debug, Default)]
struct ConnectionSpill {
    /// Compressed output before it is framed, released when large.
    #[cfg(feature = "deflate")]
    scratch: Vec<u8>,
    /// Bytes received while a message waits for its inflate job: parsed once it is
    /// delivered, so events keep the order of the wire.
    held: Vec<u8>,
}

impl Connection {
    /// A connection without extensions.
    /// A connection without extensions. Pass an `Arc<Config>` to share one
    /// configuration among many connections (a server's), or a `Config`.
    pub fn new(role: Role, config: impl Into<Arc<Config>>) -> Self {
        Connection {
            role,
            config: config.into(),
            reader: Reader::default(),
            queue: SendQueue::default(),
            life: Lifecycle::default(),
            sending_fragmented: None,
            keepalive: None,
            traffic: 0,
            transport_buffered: 0,
            #[cfg(feature = "deflate")]
            codec: None,
            deferred: Deferred::default(),
            spill: Cold::default(),
        }
    }

    /// A connection with the permessage-deflate parameters agreed in the handshake.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(
        role: Role,
        config: impl Into<Arc<Config>>,
        deflate: Option<DeflateParams>,
    ) -> Self {
        let mut c = Connection::new(role, config);
        c.codec = deflate.map(|p| Box::new(Codec::new(role, &p)));
        c
    }

    /// Which end this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The limits and behaviour it was created with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether permessage-deflate is in use.
    pub fn deflate_enabled(&self) -> bool {
        self.codec_mut_ref().is_some()
    }

    #[cfg(feature = "deflate")]
    fn codec_mut_ref(&self) -> Option<&Codec> {
        self.codec.as_deref()
    }

    #[cfg(not(feature = "deflate"))]
    fn codec_mut_ref(&self) -> Option<&Codec> {
        None
    }

    // ---- receiving -------------------------------------------------------------------

    /// Parses received bytes; events go to `on_event` in order. On a protocol violation
    /// the events before it have been delivered, a close frame with the error's code is
    /// owed (written with the next output, after replies to those events), the
    /// connection is failed and the error returned. Input after the peer's close frame,
    /// or after a failure, is ignored (RFC 6455 §5.5.1).
    pub fn feed<F: FnMut(Event<'_>)>(
        &mut self,
        data: &[u8],
        on_event: F,
    ) -> Result<(), ProtocolError> {
        self.drive(data, usize::MAX, events_only(on_event))
    }

    /// Like [`feed`](Self::feed), but may unmask frames inside `data` and hand out
    /// slices of it instead of copying them: the fastest path, for callers that own
    /// their read buffer. `data` is left in an unspecified state.
    pub fn feed_mut<F: FnMut(Event<'_>)>(
        &mut self,
        data: &mut [u8],
        on_event: F,
    ) -> Result<(), ProtocolError> {
        self.drive(data, usize::MAX, events_only(on_event))
    }

    /// Like [`feed_mut`](Self::feed_mut), but a message of `hand_off_min` bytes or more
    /// that was assembled by the connection (it came in several reads or frames, or
    /// was inflated) is handed out as [`Delivery::Message`], its buffer moved to the
    /// caller: a transport that gives the bytes to an application keeps them without
    /// a copy. Text in it is UTF-8 checked as for [`Event::Text`] (unless
    /// `validate_utf8` is off). Messages that lie whole in `data` are slices of it.
    pub fn feed_delivering<F: FnMut(Delivery<'_>)>(
        &mut self,
        data: &mut [u8],
        hand_off_min: usize,
        on: F,
    ) -> Result<(), ProtocolError> {
        self.drive(data, hand_off_min, on)
    }

    /// Like [`feed`](Self::feed), collecting owned events into `out`.
    pub fn feed_owned(
        &mut self,
        data: &[u8],
        out: &mut Vec<OwnedEvent>,
    ) -> Result<(), ProtocolError> {
        self.feed(data, |e| out.push(e.to_owned()))
    }

    fn drive<'a, I: Input<'a>, F: FnMut(Delivery<'_>)>(
        &mut self,
        data: I,
        hand_off_min: usize,
        on_event: F,
    ) -> Result<(), ProtocolError> {
        if self.reader.paused() && !self.life.failed() && self.life.close_received().is_none() {
            // A message is out for inflating: what follows it waits for it, and is
            // delivered with it even if the connection is terminated meanwhile (the
            // bytes were read before; `ws` delivers them too).
            self.spill.get_mut().held.extend_from_slice(data.bytes());
            return Ok(());
        }
        if !self.life.can_receive() {
            return Ok(());
        }
        self.parse(data, hand_off_min, on_event)
    }

    fn read_limits(&self, hand_off_min: usize) -> ReadLimits {
        ReadLimits {
            role: self.role,
            max_message_size: self.config.max_message_size,
            max_frame_size: self.config.max_frame_size,
            max_fragments: self.config.max_fragments,
            max_buffered_chunks: self.config.max_buffered_chunks,
            report_fragments: self.config.report_fragments,
            validate_utf8: self.config.validate_utf8,
            offload_inflate_min: self.config.offload_inflate_min,
            hand_off_min,
        }
    }

    /// Room for the next payload bytes of a large data frame being received, where
    /// they will stay (the message being assembled): a transport reads into it instead
    /// of its own buffer and then calls [`received_in_room`](Self::received_in_room),
    /// and the bytes are copied by nobody. `Some` only while a data frame with `min`
    /// or more payload bytes still to come is in progress and input is being parsed;
    /// at most `max` bytes, never past the frame.
    pub fn payload_room(&mut self, min: usize, max: usize) -> Option<&mut [MaybeUninit<u8>]> {
        if !self.life.can_receive() || self.reader.paused() {
            return None;
        }
        let limits = self.read_limits(usize::MAX);
        self.reader.payload_room(min, max, &limits)
    }

    /// `n` bytes were received into the room [`payload_room`](Self::payload_room) gave
    /// (at its start): parsed as by [`feed_delivering`](Self::feed_delivering). A call
    /// that does not follow `payload_room`, or an `n` past the room, does nothing.
    ///
    /// # Safety
    /// The first `n` bytes of the room were written (e.g. by `recv(2)` returning `n`).
    pub unsafe fn received_in_room<F: FnMut(Delivery<'_>)>(
        &mut self,
        n: usize,
        hand_off_min: usize,
        mut on: F,
    ) -> Result<(), ProtocolError> {
        let limits = self.read_limits(hand_off_min);
        #[cfg(feature = "deflate")]
        let codec = self.codec.as_deref_mut();
        #[cfg(not(feature = "deflate"))]
        let codec: Option<&mut Codec> = None;
        // SAFETY: the caller wrote the room's first `n` bytes; the reader checks the rest.
        let result = unsafe {
            self.reader
                .received_in_room(n, limits, codec, |incoming| match incoming {
                    Incoming::Event(e) => on(Delivery::Event(e)),
                    Incoming::Message(kind, data) => on(Delivery::Message(kind, data)),
                    // A data frame's payload completes no close frame.
                    Incoming::Close { .. } => {}
                })
        };
        self.traffic |= TRAFFIC_RX;
        result.inspect_err(|e| self.life.on_failed(e.close_code()))
    }

    /// Parses input that is to be parsed (see `drive`; `finish_inflate` also parses
    /// input received before a `terminate`, as `ws` does).
    fn parse<'a, I: Input<'a>, F: FnMut(Delivery<'_>)>(
        &mut self,
        data: I,
        hand_off_min: usize,
        mut on_event: F,
    ) -> Result<(), ProtocolError> {
        let limits = self.read_limits(hand_off_min);
        let auto_pong = self.config.auto_pong;
        let max_pongs = self.config.max_pending_pongs;
        let mask_pongs = self.role == Role::Client;
        #[cfg(feature = "deflate")]
        let codec = self.codec.as_deref_mut();
        #[cfg(not(feature = "deflate"))]
        let codec: Option<&mut Codec> = None;
        let (queue, life, deferred) = (&mut self.queue, &mut self.life, &mut self.deferred);
        let mut traffic = TRAFFIC_RX;
        let (result, rest) = self
            .reader
            .read(data, limits, codec, |incoming| match incoming {
                Incoming::Event(event) => {
                    if let Event::Pong(_) = event {
                        traffic |= TRAFFIC_PONG;
                    }
                    if let Event::Ping(payload) = event {
                        if auto_pong && life.can_send() && life.admit_pong(max_pongs) {
                            queue_pong(queue, deferred, life, mask_pongs, payload);
                        }
                    }
                    on_event(Delivery::Event(event));
                }
                Incoming::Message(kind, data) => on_event(Delivery::Message(kind, data)),
                Incoming::Close {
                    code,
                    reason,
                    payload,
                } => {
                    life.on_close_received(code, reason, payload);
                    on_event(Delivery::Event(Event::Close { code, reason }));
                }
            });
        self.traffic |= traffic;
        if self.reader.paused() {
            self.spill.get_mut().held.extend_from_slice(rest.bytes());
        }
        result.inspect_err(|e| self.life.on_failed(e.close_code()))
    }

    /// Whether a received message waits for [`take_inflate_job`](Self::take_inflate_job).
    pub fn inflate_ready(&self) -> bool {
        self.reader.inflate_ready()
    }

    /// The received message that waits to be inflated (`Config::offload_inflate_min`),
    /// as a job to run on any thread. Until it is handed back with
    /// [`finish_inflate`](Self::finish_inflate), input is kept, not parsed.
    #[cfg(feature = "deflate")]
    pub fn take_inflate_job(&mut self) -> Option<InflateJob> {
        let codec = self.codec.as_deref_mut()?;
        let data = self.reader.take_inflate_input()?;
        Some(codec.inflate_job(data, self.config.max_message_size))
    }

    /// Delivers the inflated message to `on_event`, then parses the input that came
    /// after it, as [`feed`](Self::feed) does. Both are delivered even when the
    /// connection was terminated meanwhile: they were received before, and `ws`
    /// delivers them.
    #[cfg(feature = "deflate")]
    pub fn finish_inflate<F: FnMut(Event<'_>)>(
        &mut self,
        job: InflateJob,
        mut on_event: F,
    ) -> Result<(), ProtocolError> {
        let Some(codec) = self.codec.as_deref_mut() else {
            return Ok(());
        };
        let inflated = codec.finish_inflate(job);
        let Some(kind) = self.reader.end_inflate() else {
            return Ok(());
        };
        let validate = self.config.validate_utf8;
        let delivered = inflated.and_then(|bytes| {
            on_event(crate::recv::message_event(kind, &bytes, validate)?);
            Ok(())
        });
        if let Err(e) = delivered {
            if let Some(s) = self.spill.existing_mut() {
                s.held = Vec::new();
            }
            if self.life.destroyed().is_none() {
                self.life.on_failed(e.close_code());
                return Err(e);
            }
            return Ok(());
        }
        let mut held = self
            .spill
            .existing_mut()
            .map(|s| std::mem::take(&mut s.held))
            .unwrap_or_default();
        if self.life.failed() || self.life.close_received().is_some() {
            return Ok(());
        }
        self.parse(&mut held[..], usize::MAX, events_only(on_event))
    }

    // ---- sending ---------------------------------------------------------------------

    /// Sends a whole text message.
    pub fn send_text(&mut self, text: &str) -> Result<SendStatus, UsageError> {
        self.send(DataKind::Text, text.as_bytes(), SendOptions::default())
    }

    /// Sends a whole binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<SendStatus, UsageError> {
        self.send(DataKind::Binary, data, SendOptions::default())
    }

    /// Sending is allowed until our close frame is queued: after a failure or the
    /// peer's close, the caller may still answer the messages delivered before it,
    /// until it takes the output.
    fn check_open(&self) -> Result<(), UsageError> {
        if self.life.can_send() {
            Ok(())
        } else {
            Err(UsageError::NotOpen)
        }
    }

    fn mask_key(&self, mask: bool, given: Option<[u8; 4]>) -> Option<[u8; 4]> {
        // RFC 6455 §5.1: a client masks every frame, a server none.
        match self.role {
            Role::Client if mask => Some(given.unwrap_or_else(rng::mask_key)),
            _ => None,
        }
    }

    fn status(&mut self) -> SendStatus {
        self.traffic |= TRAFFIC_TX;
        if self.over_high_water_mark() {
            SendStatus::OverHighWaterMark
        } else {
            SendStatus::Queued
        }
    }

    /// Whether what waits to be written — queued, behind a compression job, and held by
    /// the transport — is over `Config::high_water_mark`.
    pub fn over_high_water_mark(&self) -> bool {
        let buffered = self.queue.buffered() + self.deferred_bytes() + self.transport_buffered;
        buffered > self.config.high_water_mark
    }

    /// Sends a message or one fragment of it. With `fin: false` the message continues
    /// with the next `send` (its `kind` is then ignored: continuation frames have none).
    /// Text must be UTF-8 once whole; a `&str` caller guarantees that.
    pub fn send(
        &mut self,
        kind: DataKind,
        data: &[u8],
        opts: SendOptions,
    ) -> Result<SendStatus, UsageError> {
        let info = self.begin_send(kind, data.len(), opts)?;
        self.queue_data(info, data)
    }

    /// Like [`send`](Self::send), for a transport that can write at once: when the
    /// frame is sent as it is (not compressed, not masked) and no compression job holds
    /// later sends back, `write` gets everything queued, then the frame's header and
    /// `data`, as slices for one vectored write, and answers how many bytes it wrote
    /// (0 when the kernel took nothing). Only what it did not write is copied into the
    /// queue, so a large payload the kernel takes is never copied in user space.
    /// Otherwise the message is queued as by `send` and `write` is not called.
    pub fn send_writing(
        &mut self,
        kind: DataKind,
        data: &[u8],
        opts: SendOptions,
        write: impl FnOnce(&[IoSlice<'_>]) -> usize,
    ) -> Result<SendStatus, UsageError> {
        let info = self.begin_send(kind, data.len(), opts)?;
        if info.compress || info.mask.is_some() || self.deferred.is_active() {
            return self.queue_data(info, data);
        }
        let mut header = [0u8; MAX_HEADER_LEN];
        let header_len = FrameHeader {
            fin: info.fin,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode: info.op.as_u8(),
            mask: None,
            payload_len: data.len() as u64,
        }
        .encode_into(&mut header);
        let header = &header[..header_len];
        let queued = self.queue.buffered();
        let mut iov = [IoSlice::new(&[]); WRITE_THROUGH_IOV];
        let n = self.queue.io_slices(&mut iov[..WRITE_THROUGH_IOV - 2]);
        if iov[..n].iter().map(|s| s.len()).sum::<usize>() != queued {
            // More segments than one write takes: the frame waits its turn.
            return self.queue_data(info, data);
        }
        iov[n] = IoSlice::new(header);
        iov[n + 1] = IoSlice::new(data);
        let written = write(&iov[..n + 2]).min(queued + header_len + data.len());
        self.queue.consume(written.min(queued));
        self.queue
            .append_written_through([header, data], written.saturating_sub(queued));
        self.life.on_written(self.queue.written_position());
        Ok(self.status())
    }

    /// Checks a send and works out its frame; what follows frames it.
    fn begin_send(
        &mut self,
        kind: DataKind,
        len: usize,
        opts: SendOptions,
    ) -> Result<FrameInfo, UsageError> {
        self.check_open()?;
        if self.sending_fragmented.is_none() {
            // A message is refused whole: its later fragments follow the first.
            self.admit(len)?;
        }
        let mask = self.mask_key(opts.mask, opts.mask_key);
        let (opcode, compressed) = match self.sending_fragmented {
            Some(compressed) => (OpCode::Continuation, compressed),
            None => {
                let op = match kind {
                    DataKind::Text => OpCode::Text,
                    DataKind::Binary => OpCode::Binary,
                };
                (op, opts.compress && self.should_compress(len, opts.fin))
            }
        };
        let first = self.sending_fragmented.is_none();
        self.sending_fragmented = if opts.fin { None } else { Some(compressed) };
        Ok(FrameInfo {
            op: opcode,
            first,
            fin: opts.fin,
            compress: compressed,
            mask,
        })
    }

    /// Frames a checked send into the queue, or behind the compression job.
    fn queue_data(&mut self, info: FrameInfo, data: &[u8]) -> Result<SendStatus, UsageError> {
        if self.deferred.is_active() || self.offloads(&info, data.len()) {
            let data = data.to_vec();
            self.deferred.push(Waiting::Data { info, data }, true);
            return Ok(SendStatus::Deferred);
        }
        self.write_data(info, data)?;
        Ok(self.status())
    }

    /// Whether a message is compressed off the caller's thread.
    fn offloads(&self, info: &FrameInfo, len: usize) -> bool {
        info.compress && len >= self.config.offload_deflate_min
    }

    fn write_data(&mut self, info: FrameInfo, data: &[u8]) -> Result<(), UsageError> {
        let FrameInfo {
            op,
            first,
            fin,
            compress,
            mask,
        } = info;
        if compress {
            self.write_compressed(op, first, fin, mask, data)
        } else {
            self.queue
                .append_with(|out| write_frame(out, op, fin, false, mask, data));
            Ok(())
        }
    }

    /// Appends a frame to the send queue, or behind the compression job when one is out.
    fn push_frame(&mut self, tagged: bool, write: impl FnOnce(&mut Vec<u8>)) -> SendStatus {
        if self.deferred.is_active() {
            let mut v = Vec::new();
            write(&mut v);
            let bytes = v.into();
            self.deferred
                .push(Waiting::Frame { bytes, pong: false }, tagged);
            return SendStatus::Deferred;
        }
        self.queue.append_with(write);
        self.status()
    }

    /// The message at the front of the waiting calls, as a job to compress on any
    /// thread; `None` while one is out (one at a time: one context per direction).
    #[cfg(feature = "deflate")]
    pub fn take_deflate_job(&mut self) -> Option<DeflateJob> {
        if self.life.destroyed().is_some() {
            return None;
        }
        let codec = self.codec.as_deref_mut()?;
        let (info, data) = self.deferred.start_job()?;
        Some(codec.deflate_job(data, info.first, info.fin))
    }

    /// Frames a compressed job's message, then every call that waited behind it up to
    /// the next message that goes out for compression. Returns how many of the
    /// caller's calls (sends, pings, pongs, `send_frame`) are now in the send queue.
    /// After `terminate` nothing is framed.
    #[cfg(feature = "deflate")]
    pub fn finish_deflate(&mut self, job: DeflateJob) -> usize {
        let Some(codec) = self.codec.as_deref_mut() else {
            return 0;
        };
        let compressed = codec.finish_deflate(job);
        let Some((info, tagged)) = self.deferred.end_job() else {
            return 0;
        };
        if self.life.destroyed().is_some() {
            self.deferred.clear();
            return 0;
        }
        let Ok(payload) = compressed else {
            self.fail_compression();
            return 0;
        };
        // RFC 7692 §6: RSV1 marks the first frame of a compressed message only.
        self.queue.append_with(|out| {
            write_frame(out, info.op, info.fin, info.first, info.mask, &payload)
        });
        usize::from(tagged) + self.drain_deferred()
    }

    /// Whether calls wait behind a compression job.
    pub fn deferred(&self) -> bool {
        self.deferred.is_active()
    }

    /// Payload bytes waiting behind (or in) a compression job (`ws` counts them in
    /// `bufferedAmount`).
    pub fn deferred_bytes(&self) -> usize {
        self.deferred.bytes()
    }

    #[cfg(feature = "deflate")]
    fn drain_deferred(&mut self) -> usize {
        let min = self.config.offload_deflate_min;
        let mut released = 0;
        while let Some((item, tagged)) = self.deferred.pop_if(|w| match w {
            Waiting::Data { info, data } => !(info.compress && data.len() >= min),
            Waiting::Frame { .. } => true,
        }) {
            match item {
                Waiting::Data { info, data } => {
                    if self.write_data(info, &data).is_err() {
                        return released;
                    }
                }
                Waiting::Frame { bytes, pong } => {
                    self.queue.append_with(|out| out.extend_from_slice(&bytes));
                    if pong {
                        self.life.on_pong_queued(self.queue.end_position());
                    }
                }
            }
            released += usize::from(tagged);
        }
        released
    }

    /// zlib refuses only with a corrupt state: nothing sane can follow on this
    /// connection, so it fails with 1011 (RFC 6455 §7.4.1, internal error).
    #[cfg(feature = "deflate")]
    fn fail_compression(&mut self) {
        self.life.on_failed(1011);
        self.deferred.clear();
        if let Some(s) = self.spill.existing_mut() {
            s.scratch = Vec::new();
        }
    }

    /// Queues a message framed once for many connections (server only).
    pub fn send_prepared(&mut self, msg: &PreparedMessage) -> Result<SendStatus, UsageError> {
        self.check_open()?;
        if self.role == Role::Client {
            return Err(UsageError::PreparedFrameOnClient);
        }
        if self.sending_fragmented.is_some() {
            return Err(UsageError::FragmentKindMismatch);
        }
        self.admit(msg.frame.len())?;
        Ok(self.push_shared(msg.frame.clone()))
    }

    /// Queues frames encoded elsewhere (see [`FrameSpec`]) as they are, in order with
    /// the other sends. The bytes must be whole, valid frames for this connection's
    /// role and extensions: they are not checked.
    pub fn send_frame(&mut self, frames: impl Into<Bytes>) -> Result<SendStatus, UsageError> {
        self.check_open()?;
        let frames = frames.into();
        self.admit(frames.len())?;
        Ok(self.push_shared(frames))
    }

    fn push_shared(&mut self, frame: Bytes) -> SendStatus {
        if self.deferred.is_active() {
            let item = Waiting::Frame {
                bytes: frame,
                pong: false,
            };
            self.deferred.push(item, true);
            return SendStatus::Deferred;
        }
        self.queue.push_shared(frame);
        self.status()
    }

    /// The caller writes `len` bytes of whole frames to the transport itself, after all
    /// the output it has taken so far (a frame shared by many connections, written as it
    /// is: no copy into this queue). Checked like a send — open, server, between
    /// messages, `Config::max_backpressure` — and reported the same way;
    /// [`SendStatus::Deferred`]: do not write it, queue it with
    /// [`send_frame`](Self::send_frame) (sends wait behind a compression job).
    pub fn admit_external(&mut self, len: usize) -> Result<SendStatus, UsageError> {
        self.check_open()?;
        if self.role == Role::Client {
            return Err(UsageError::PreparedFrameOnClient);
        }
        if self.sending_fragmented.is_some() {
            return Err(UsageError::FragmentKindMismatch);
        }
        self.admit(len)?;
        if self.deferred.is_active() {
            // A compression job is out and later sends wait behind it: the frame must
            // wait too — the caller queues it with `send_frame` instead of writing it.
            return Ok(SendStatus::Deferred);
        }
        self.transport_buffered += len;
        let status = self.status();
        self.transport_buffered -= len;
        Ok(status)
    }

    /// Bytes the transport holds that it has taken from the output but not yet written
    /// (e.g. a Node socket's `writableLength`): counted with the send queue for the high
    /// water mark and `Config::max_backpressure`.
    pub fn set_transport_buffered(&mut self, bytes: usize) {
        self.transport_buffered = bytes;
    }

    /// `Config::max_backpressure`: room for `len` more bytes? At the limit the message
    /// is refused (and, with `close_on_backpressure_limit`, the close handshake starts;
    /// the close frame is a control frame and is queued regardless).
    fn admit(&mut self, len: usize) -> Result<(), UsageError> {
        let Some(max) = self.config.max_backpressure else {
            return Ok(());
        };
        let after = self.queue.buffered() + self.deferred_bytes() + self.transport_buffered + len;
        if after <= max {
            return Ok(());
        }
        if self.config.close_on_backpressure_limit {
            let _ = self.close(
                Some(crate::config::BACKPRESSURE_CLOSE_CODE),
                "backpressure limit",
            );
        }
        Err(UsageError::BackpressureLimit)
    }

    #[cfg(feature = "deflate")]
    fn should_compress(&self, len: usize, fin: bool) -> bool {
        // A fragmented message's size is unknown at its first frame: compress it.
        self.codec.as_ref().is_some_and(|c| c.can_compress())
            && (!fin || len >= self.config.compress_threshold)
    }

    #[cfg(not(feature = "deflate"))]
    fn should_compress(&self, _len: usize, _fin: bool) -> bool {
        false
    }

    #[cfg(feature = "deflate")]
    fn write_compressed(
        &mut self,
        op: OpCode,
        first: bool,
        fin: bool,
        mask: Option<[u8; 4]>,
        data: &[u8],
    ) -> Result<(), UsageError> {
        let Some(codec) = self.codec.as_mut() else {
            return Err(UsageError::NotOpen);
        };
        let scratch = &mut self.spill.get_mut().scratch;
        scratch.clear();
        if codec.compress(data, first, fin, scratch).is_err() {
            self.fail_compression();
            return Err(UsageError::NotOpen);
        }
        // RFC 7692 §6: RSV1 marks the first frame of a compressed message only.
        let payload = &scratch[..];
        self.queue
            .append_with(|out| write_frame(out, op, fin, first, mask, payload));
        if scratch.capacity() > RETAIN_CAPACITY {
            *scratch = Vec::new();
        }
        Ok(())
    }

    #[cfg(not(feature = "deflate"))]
    fn write_compressed(
        &mut self,
        op: OpCode,
        _first: bool,
        fin: bool,
        mask: Option<[u8; 4]>,
        data: &[u8],
    ) -> Result<(), UsageError> {
        self.queue
            .append_with(|out| write_frame(out, op, fin, false, mask, data));
        Ok(())
    }

    /// Sends a ping (payload ≤ 125 bytes, RFC 6455 §5.5).
    pub fn ping(&mut self, data: &[u8]) -> Result<SendStatus, UsageError> {
        self.control(OpCode::Ping, data, true, None)
    }

    /// Sends an unsolicited pong (a heartbeat, RFC 6455 §5.5.3).
    pub fn pong(&mut self, data: &[u8]) -> Result<SendStatus, UsageError> {
        self.control(OpCode::Pong, data, true, None)
    }

    /// Sends a ping with explicit masking (client only; see [`SendOptions::mask`]).
    pub fn ping_with(
        &mut self,
        data: &[u8],
        mask: bool,
        mask_key: Option<[u8; 4]>,
    ) -> Result<SendStatus, UsageError> {
        self.control(OpCode::Ping, data, mask, mask_key)
    }

    /// Sends a pong with explicit masking (client only; see [`SendOptions::mask`]).
    pub fn pong_with(
        &mut self,
        data: &[u8],
        mask: bool,
        mask_key: Option<[u8; 4]>,
    ) -> Result<SendStatus, UsageError> {
        self.control(OpCode::Pong, data, mask, mask_key)
    }

    fn control(
        &mut self,
        op: OpCode,
        data: &[u8],
        mask: bool,
        mask_key: Option<[u8; 4]>,
    ) -> Result<SendStatus, UsageError> {
        self.check_open()?;
        if data.len() > 125 {
            return Err(UsageError::ControlTooLong);
        }
        let mask = self.mask_key(mask, mask_key);
        Ok(self.push_frame(true, |out| write_frame(out, op, true, false, mask, data)))
    }

    /// Answers a ping the caller has just delivered (with `Config::auto_pong` off, so
    /// the pong follows the replies to earlier messages). Counts toward
    /// `Config::max_pending_pongs`; past it the connection is terminated (check
    /// [`transport_action`](Self::transport_action)) and `false` is returned. Nothing
    /// is sent once our close frame is queued.
    pub fn answer_ping(&mut self, payload: &[u8]) -> bool {
        if !self.life.can_send() || payload.len() > 125 {
            return self.life.destroyed().is_none();
        }
        if !self.life.admit_pong(self.config.max_pending_pongs) {
            return false;
        }
        queue_pong(
            &mut self.queue,
            &mut self.deferred,
            &mut self.life,
            self.role == Role::Client,
            payload,
        );
        true
    }

    /// For a caller that sends the automatic pong itself (e.g. through an overridable
    /// method): counts one pending pong against the bound; `false` = over it, the
    /// connection is terminated. Report its write with [`auto_pong_written`].
    ///
    /// [`auto_pong_written`]: Self::auto_pong_written
    pub fn begin_auto_pong(&mut self) -> bool {
        if !self.life.admit_pong(self.config.max_pending_pongs) {
            return false;
        }
        self.life.on_external_pong(true);
        true
    }

    /// An automatic pong counted by [`begin_auto_pong`](Self::begin_auto_pong) was written.
    pub fn auto_pong_written(&mut self) {
        self.life.on_external_pong(false);
    }

    /// Starts (or answers) the close handshake (RFC 6455 §7.1.2). Calling it again once
    /// a close frame was queued does nothing. Invalid codes and reasons over 123 bytes
    /// are refused, as `ws` refuses them. The close timeout starts.
    pub fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), UsageError> {
        if self.life.close_sent() || self.life.destroyed().is_some() {
            return Ok(());
        }
        let mut payload = Vec::with_capacity(2 + reason.len());
        close::build_payload(code, reason, &mut payload)?;
        // After a violation whose close frame is still owed (not written yet), this close
        // answers a message delivered before the violation: `ws`, which delivers while it
        // parses, would have sent it first, so it goes out in the owed frame's place.
        self.queue_close(&payload);
        Ok(())
    }

    fn queue_close(&mut self, payload: &[u8]) {
        let mask = self.mask_key(true, None);
        self.push_frame(false, |out| {
            write_frame(out, OpCode::Close, true, false, mask, payload)
        });
        self.life.on_close_queued();
    }

    /// Ends the connection at once (no close handshake): the transport is to be
    /// destroyed; nothing more is sent or parsed.
    pub fn terminate(&mut self) {
        self.life.destroy(DestroyReason::Terminated);
        // Nothing waiting is sent. (A message being inflated, and what was received
        // after it, are still delivered: see `finish_inflate`.)
        self.deferred.clear();
    }

    /// The transport reached the end of its input (TCP FIN): nothing more will be
    /// received. The transport is to be ended in turn ([`TransportAction::End`]).
    pub fn peer_ended(&mut self) {
        self.life.on_peer_ended();
    }

    // ---- lifecycle queries -------------------------------------------------------------

    /// The RFC 6455 §7 state.
    pub fn state(&self) -> State {
        let close_sent = self.life.close_sent() || self.life.has_owed_close();
        if self.life.destroyed().is_some() || self.life.failed() {
            return State::Closed;
        }
        match (close_sent, self.life.close_received().is_some()) {
            (true, true) => State::Closed,
            (true, false) | (false, true) => State::Closing,
            _ => State::Open,
        }
    }

    /// Whether the application may still send (what `ws` calls OPEN): until our close
    /// frame is queued — a close owed to the peer is queued with the next output, so
    /// messages delivered before it, even in the same read, can still be answered —
    /// and not once the transport ended or was destroyed.
    pub fn can_send(&self) -> bool {
        self.life.can_send()
    }

    /// Whether our close frame has been queued.
    pub fn close_sent(&self) -> bool {
        self.life.close_sent()
    }

    /// Whether both close frames were exchanged (the WebSocket API's `wasClean`).
    pub fn was_clean(&self) -> bool {
        self.close_sent() && self.close_received().is_some()
    }

    /// The peer's close frame, once received.
    pub fn close_received(&self) -> Option<(Option<u16>, &str)> {
        self.life.close_received()
    }

    /// Whether the peer broke the protocol.
    pub fn failed(&self) -> bool {
        self.life.failed()
    }

    /// Why the transport must be destroyed, once it must.
    pub fn destroy_reason(&self) -> Option<DestroyReason> {
        self.life.destroyed()
    }

    /// What the transport should do now: keep going, end its write side once the
    /// output is written, or close at once.
    pub fn transport_action(&self) -> TransportAction {
        let action = if self.life.has_owed_close() {
            // Owed = the peer closed or failed: the close goes out with the next output,
            // and then the handshake is over.
            TransportAction::End
        } else {
            self.life.transport_action()
        };
        if action == TransportAction::End && self.deferred.is_active() {
            // Calls wait behind a compression job: ending now would drop them (the
            // owed close among them). The caller asks again when the job is back.
            return TransportAction::Keep;
        }
        action
    }

    /// True once the transport should be ended or destroyed (after writing the output).
    pub fn should_close_transport(&self) -> bool {
        self.transport_action() != TransportAction::Keep
    }

    /// The code and reason the application is told when the transport closes: the
    /// peer's close status (1005 when its close frame had none), otherwise 1006.
    pub fn close_status(&self) -> (u16, &str) {
        self.life.close_status()
    }

    /// The next time (the caller's clock, in ms) at which [`on_timeout`](Self::on_timeout)
    /// must be called, if any. A deadline that started since the last call (the close
    /// timeout, once a close frame is queued or owed; the keepalive of
    /// `Config::keepalive`, from the first call on an open connection) starts at `now`:
    /// call this after every batch of calls that may queue a close.
    pub fn poll_deadline(&mut self, now: u64) -> Option<u64> {
        if self.life.destroyed().is_some() {
            return None;
        }
        let close = self.life.poll_deadline(now, self.config.close_timeout);
        let keepalive = self.keepalive_deadline(now);
        match (close, keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Time has come (`now` ≥ the deadline): past the close timeout the transport is
    /// to be destroyed ([`TransportAction::Destroy`]); a heartbeat ping may be queued
    /// (take the output), or the keepalive ends the connection: an unanswered ping
    /// destroys it (1006, "heartbeat timeout"), the idle timeout and the maximum
    /// lifetime start the close handshake with 1001 (RFC 6455 §7.4.1, going away).
    pub fn on_timeout(&mut self, now: u64) {
        self.life.on_timeout(now);
        if !self.life.can_send() {
            self.keepalive = None;
        }
        self.note_traffic(now);
        while let Some(due) = self.keepalive.as_mut().and_then(|k| k.poll(now)) {
            match due {
                KeepaliveAction::Ping => {
                    // Our own heartbeat is not traffic for the idle timeout.
                    let traffic = self.traffic;
                    let _ = self.control(OpCode::Ping, &[], true, None);
                    self.traffic = traffic;
                }
                KeepaliveAction::Timeout => {
                    self.keepalive = None;
                    self.life.destroy(DestroyReason::HeartbeatTimeout);
                }
                KeepaliveAction::Idle => {
                    self.keepalive = None;
                    let _ = self.close(Some(1001), "idle timeout");
                }
                _ => {
                    self.keepalive = None;
                    let _ = self.close(Some(1001), "max lifetime reached");
                }
            }
        }
    }

    /// Tells the keepalive that what was received and sent since the last call happened
    /// by `now` (the caller's clock). Cheap when no keepalive runs; a transport that
    /// reads a clock anyway calls it after each batch, for exact idle and heartbeat
    /// times (otherwise traffic counts from the next deadline, one interval late).
    pub fn note_traffic(&mut self, now: u64) {
        let traffic = self.traffic & !KEEPALIVE_STARTED;
        if traffic == 0 {
            return;
        }
        self.traffic &= KEEPALIVE_STARTED;
        let Some(k) = self.keepalive.as_mut() else {
            return;
        };
        if traffic & TRAFFIC_PONG != 0 {
            k.on_pong(now);
        }
        if traffic & TRAFFIC_RX != 0 {
            k.on_received(now);
        }
        if traffic & TRAFFIC_TX != 0 {
            k.on_sent(now);
        }
    }

    /// Whether a keepalive runs (the transport then calls [`note_traffic`](Self::note_traffic)).
    pub fn keepalive_active(&self) -> bool {
        self.keepalive.is_some()
    }

    fn keepalive_deadline(&mut self, now: u64) -> Option<u64> {
        if !self.life.can_send() {
            // Closing: the close timeout is what counts now.
            self.keepalive = None;
            return None;
        }
        if self.traffic & KEEPALIVE_STARTED == 0 {
            self.traffic = KEEPALIVE_STARTED;
            let c = self.config.keepalive;
            if c.is_on() {
                self.keepalive = Some(Box::new(Keepalive::new(c, now)));
            }
        }
        self.note_traffic(now);
        self.keepalive.as_ref().and_then(|k| k.next_deadline())
    }

    // ---- output ------------------------------------------------------------------------

    /// Writes the close frame we owe, if any, behind what is queued.
    fn flush_owed_close(&mut self) {
        if let Some(payload) = self.life.take_owed_close() {
            self.queue_close(&payload);
        }
    }

    /// Bytes waiting to be written (the owed close frame included).
    pub fn buffered(&self) -> usize {
        self.queue.buffered()
    }

    /// Whether anything waits to be written.
    pub fn has_output(&self) -> bool {
        !self.queue.is_empty() || (self.life.has_owed_close() && !self.deferred.is_active())
    }

    /// The first contiguous run of bytes to write. Loop while it is not empty (or use
    /// [`output_slices`](Self::output_slices)): shared frames are separate runs.
    pub fn output(&mut self) -> &[u8] {
        self.flush_owed_close();
        self.queue.front()
    }

    /// Every run of bytes to write, for a vectored write; returns how many slots of
    /// `out` were filled.
    pub fn output_slices<'a>(&'a mut self, out: &mut [IoSlice<'a>]) -> usize {
        self.flush_owed_close();
        self.queue.io_slices(out)
    }

    /// Marks the first `n` bytes of the output as written.
    pub fn consume_output(&mut self, n: usize) {
        self.queue.consume(n);
        self.life.on_written(self.queue.written_position());
    }

    /// Takes all bytes waiting to be written, as one buffer.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.flush_owed_close();
        let out = self.queue.take_all();
        self.life.on_written(self.queue.written_position());
        out
    }

    /// Heap bytes of the zlib contexts this connection keeps between messages (an
    /// estimate from zlib's sizes). 0 in a direction without context takeover: its
    /// messages use the thread's shared context.
    pub fn deflate_context_bytes(&self) -> usize {
        #[cfg(feature = "deflate")]
        let bytes = self.codec.as_ref().map_or(0, |c| c.context_bytes());
        #[cfg(not(feature = "deflate"))]
        let bytes = 0;
        bytes
    }

    /// Heap bytes this connection holds in its buffers (deflate contexts excluded).
    /// Idle connections keep this at or below 1 KiB.
    pub fn buffered_heap_bytes(&self) -> usize {
        let base = self.queue.heap_bytes()
            + self.reader.heap_bytes()
            + self.deferred.heap_bytes()
            + self.spill.box_bytes()
            + self.spill.get().map_or(0, |s| s.held.capacity());
        #[cfg(feature = "deflate")]
        let base = base + self.spill.get().map_or(0, |s| s.scratch.capacity());
        base
    }
}

fn queue_pong(
    queue: &mut SendQueue,
    deferred: &mut Deferred,
    life: &mut Lifecycle,
    mask: bool,
    payload: &[u8],
) {
    let key = mask.then(rng::mask_key);
    let write = |out: &mut Vec<u8>| write_frame(out, OpCode::Pong, true, false, key, payload);
    if deferred.is_active() {
        // Counted by the lifecycle once it reaches the send queue.
        let mut v = Vec::new();
        write(&mut v);
        deferred.push(
            Waiting::Frame {
                bytes: v.into(),
                pong: true,
            },
            false,
        );
        return;
    }
    queue.append_with(write);
    life.on_pong_queued(queue.end_position());
}
