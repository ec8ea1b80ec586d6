//! `Engine`: a `ferrosocket_core::Connection` driven from JS, one napi call per chunk.
//! The connection decides the lifecycle (close handshake, pong bound, close timeout,
//! when the socket is ended or destroyed); JS asks it and moves bytes.

use std::time::{SystemTime, UNIX_EPOCH};

use ferrosocket_core::keepalive::KeepaliveConfig;
use ferrosocket_core::{
    ws, Config, Connection, DataKind, Event, FrameSpec, ProtocolError, Role, SendOptions,
    SendStatus, State, TransportAction, UsageError,
};
use napi::bindgen_prelude::{Array, Buffer, BufferSlice, Either};
use napi::{Env, Result};
use napi_derive::napi;

use crate::error::CoreError;
use crate::handshake::DeflateHandle;
use crate::offload::{DeflateWork, InflateWork};

/// Event kinds in the flat array `feed` returns.
/// `TEXT, buf` | `BINARY, buf` | `PING, buf` | `PONG, buf` | `CLOSE` | `ERROR, err`.
const EV_TEXT: u32 = 1;
const EV_BINARY: u32 = 2;
const EV_PING: u32 = 3;
const EV_PONG: u32 = 4;
const EV_CLOSE: u32 = 5;
const EV_ERROR: u32 = 6;
/// `TEXT_AT, start, end` | `BINARY_AT, start, end`: the payload is `chunk[start..end]`
/// (unmasked in place by the core), so JS takes a `subarray` instead of a copy.
const EV_TEXT_AT: u32 = 7;
const EV_BINARY_AT: u32 = 8;
/// `FRAME_ENDS, [end, ...]`: the next binary message came in several frames, each
/// ending at these offsets (ws's `binaryType = 'fragments'`).
const EV_FRAME_ENDS: u32 = 9;

/// `INFLATE` (last): a received message waits to be inflated off the JS thread
/// (`inflateTask`); the input after it is kept until `finishInflate`.
const EV_INFLATE: u32 = 10;

/// Above this size the output is handed to JS by moving the Rust buffer (an external
/// buffer costs a finalizer; below it a copy is cheaper).
const ZERO_COPY_MIN: usize = 64 * 1024;

/// Limits and switches of one connection, named after ws's options.
#[napi(object)]
#[derive(Default)]
pub struct EngineOptions {
    /// ws `maxPayload` (0 = no limit).
    pub max_payload: Option<f64>,
    /// ws `maxFragments` (0 = no limit).
    pub max_fragments: Option<f64>,
    /// ws `maxBufferedChunks` (0 = no limit).
    pub max_buffered_chunks: Option<f64>,
    /// ws `skipUTF8Validation`.
    pub skip_utf8_validation: Option<bool>,
    /// ws `perMessageDeflate.threshold`.
    pub threshold: Option<f64>,
    /// ws `closeTimeout` (ms).
    pub close_timeout: Option<f64>,
    /// ws `maxPendingAutoPongs` (0 = no bound).
    pub max_pending_auto_pongs: Option<f64>,
    /// `highWaterMark` (bytes): a send past it answers `false`.
    pub high_water_mark: Option<f64>,
    /// `maxBackpressure` (bytes; absent or 0 = no limit, as ws).
    pub max_backpressure: Option<f64>,
    /// `closeOnBackpressureLimit`.
    pub close_on_backpressure_limit: Option<bool>,
    /// `heartbeat.interval` (ms): ping a peer quiet this long.
    pub heartbeat_interval: Option<f64>,
    /// `heartbeat.timeout` (ms): no pong or data this long after the ping = dead
    /// (absent: one interval).
    pub heartbeat_timeout: Option<f64>,
    /// `idleTimeout` (ms): no traffic either way this long = close 1001.
    pub idle_timeout: Option<f64>,
    /// `maxLifetime` (ms): close 1001 this long after the open.
    pub max_lifetime: Option<f64>,
}

/// A duration option in ms: absent, 0, negative or not finite = off.
fn millis(v: Option<f64>) -> u64 {
    v.filter(|v| v.is_finite() && *v > 0.0)
        .map_or(0, |v| v as u64)
}

/// The wall clock in ms, as JS `Date.now()` (the deadlines JS sweeps are on it).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// ws's defaults, from the core's one table (`ferrosocket_core::ws`), so the JS
/// option objects never retype them.
#[napi(object)]
pub struct WsDefaults {
    pub max_payload: f64,
    pub max_fragments: f64,
    pub max_buffered_chunks: f64,
    pub max_pending_auto_pongs: f64,
    pub close_timeout: f64,
    pub threshold: f64,
}

/// ws's defaults (see [`WsDefaults`]).
#[napi]
pub fn ws_defaults() -> WsDefaults {
    WsDefaults {
        max_payload: ws::MAX_PAYLOAD as f64,
        max_fragments: ws::MAX_FRAGMENTS as f64,
        max_buffered_chunks: ws::MAX_BUFFERED_CHUNKS as f64,
        max_pending_auto_pongs: ws::MAX_PENDING_AUTO_PONGS as f64,
        close_timeout: ws::CLOSE_TIMEOUT_MS as f64,
        threshold: ws::DEFLATE_THRESHOLD as f64,
    }
}

fn limit(value: Option<f64>, default: usize) -> usize {
    match value {
        None => default,
        Some(v) if v <= 0.0 || !v.is_finite() => usize::MAX,
        Some(v) => v as usize,
    }
}

pub(crate) fn config(opts: &EngineOptions) -> Config {
    let defaults = ws::config();
    let max_message_size = limit(opts.max_payload, defaults.max_message_size);
    Config {
        max_message_size,
        max_frame_size: max_message_size,
        max_fragments: limit(opts.max_fragments, defaults.max_fragments),
        max_buffered_chunks: limit(opts.max_buffered_chunks, defaults.max_buffered_chunks),
        // Cheap (fragmented binary messages only) and read by binaryType 'fragments'.
        report_fragments: true,
        // The façade answers pings while it emits the events (`answerPing`), so a pong
        // follows the replies to earlier messages as in ws.
        auto_pong: false,
        max_pending_pongs: match opts.max_pending_auto_pongs {
            None => defaults.max_pending_pongs,
            Some(v) if v.is_finite() && v >= 1.0 => v as usize,
            Some(_) => 0,
        },
        validate_utf8: !opts.skip_utf8_validation.unwrap_or(false),
        compress_threshold: opts
            .threshold
            .map(|t| t.max(0.0) as usize)
            .unwrap_or(defaults.compress_threshold),
        close_timeout: opts
            .close_timeout
            .filter(|t| t.is_finite())
            .map(|t| t.max(0.0) as u64)
            .unwrap_or(defaults.close_timeout),
        high_water_mark: opts
            .high_water_mark
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map_or(defaults.high_water_mark, |v| v as usize),
        max_backpressure: opts
            .max_backpressure
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| v as usize),
        close_on_backpressure_limit: opts.close_on_backpressure_limit.unwrap_or(false),
        keepalive: KeepaliveConfig {
            ping_interval_ms: millis(opts.heartbeat_interval),
            // Without a timeout, the ping's answer may take one more interval.
            pong_timeout_ms: opts
                .heartbeat_timeout
                .map_or(millis(opts.heartbeat_interval), |t| millis(Some(t))),
            idle_timeout_ms: millis(opts.idle_timeout),
            max_lifetime_ms: millis(opts.max_lifetime),
            // A server heartbeat: a peer that talks is alive; idle = quiet both ways.
            inbound_answers_ping: true,
            idle_counts_outbound: true,
            ping_when_quiet: false,
        },
        // Compression off the JS thread from ws's sizes on (the core's `ws` table).
        ..defaults
    }
}

/// What `send` returns when the message went behind (or into) a compression job:
/// `deflateTask` gives the job, unless one is out already.
const SEND_DEFERRED: u32 = 1;
/// What a send returns when it was queued and the buffered bytes are now over the
/// high-water mark (JS `send()` returns `false`; 'drain' follows).
const SEND_OVER_HIGH_WATER_MARK: u32 = 2;

/// Both: deferred, and over the high-water mark with what waits behind the job.
const SEND_DEFERRED_OVER_HIGH_WATER_MARK: u32 = 3;

/// A send's answer to JS: `null` = queued, `SEND_DEFERRED`, `SEND_OVER_HIGH_WATER_MARK`,
/// `SEND_DEFERRED_OVER_HIGH_WATER_MARK`, or an error object = refused.
pub(crate) fn send_answer(
    conn: &Connection,
    res: std::result::Result<SendStatus, UsageError>,
) -> Option<Either<u32, CoreError>> {
    match res {
        Ok(SendStatus::Deferred) if conn.over_high_water_mark() => {
            Some(Either::A(SEND_DEFERRED_OVER_HIGH_WATER_MARK))
        }
        Ok(SendStatus::Deferred) => Some(Either::A(SEND_DEFERRED)),
        Ok(SendStatus::OverHighWaterMark) => Some(Either::A(SEND_OVER_HIGH_WATER_MARK)),
        Ok(_) => None,
        Err(e) => Some(Either::B(CoreError::from(&e))),
    }
}

fn mask_key_of(key: Option<BufferSlice>) -> Option<[u8; 4]> {
    key.and_then(|m| <[u8; 4]>::try_from(&m[..]).ok())
}

/// ws `Sender.frame`: one frame (header and payload, masked when a key is given) in a
/// Buffer, to queue later on any number of connections with `Engine#sendFrame`.
/// Returns an error object for a reserved opcode or an oversized control frame.
#[napi]
pub fn encode_frame(
    data: Either<String, BufferSlice>,
    opcode: u32,
    fin: bool,
    rsv1: bool,
    mask_key: Option<BufferSlice>,
) -> Either<Buffer, CoreError> {
    let spec = FrameSpec {
        opcode: u8::try_from(opcode).unwrap_or(u8::MAX),
        fin,
        rsv1,
        mask: mask_key_of(mask_key),
    };
    match spec.encode(bytes(&data)) {
        Ok(v) => Either::A(v.into()),
        Err(e) => Either::B(CoreError::from(&e)),
    }
}

/// Checks a close code and reason as `close()` would (ws throws before anything is
/// queued), without closing: for a close that must wait behind queued sends.
#[napi]
pub fn check_close(code: Option<u32>, reason: Option<String>) -> Option<CoreError> {
    let code = code.map(|c| u16::try_from(c).unwrap_or(0));
    let mut scratch = Vec::new();
    ferrosocket_core::close::build_payload(code, reason.as_deref().unwrap_or(""), &mut scratch)
        .err()
        .map(|e| CoreError::from(&e))
}

/// The bytes of a string or a Buffer argument.
fn bytes<'a>(data: &'a Either<String, BufferSlice<'_>>) -> &'a [u8] {
    match data {
        Either::A(s) => s.as_bytes(),
        Either::B(b) => b,
    }
}

/// One WebSocket connection's protocol state (RFC 6455 after the opening handshake).
#[napi]
pub struct Engine {
    conn: Connection,
}

#[napi]
impl Engine {
    /// `isServer` selects masking rules; `deflate` is the negotiated permessage-deflate, if any.
    #[napi(constructor)]
    pub fn new(
        is_server: bool,
        options: Option<EngineOptions>,
        deflate: Option<&mut DeflateHandle>,
    ) -> Self {
        let role = if is_server {
            Role::Server
        } else {
            Role::Client
        };
        let config = config(&options.unwrap_or_default());
        let params = deflate.and_then(|d| d.take());
        Engine {
            conn: Connection::with_deflate(role, config, params),
        }
    }

    /// Parses a received chunk. Returns `null` when it completed no event, else a flat
    /// array of events (see `EV_*`); a protocol error is the last entry (`6, err`).
    /// The chunk is unmasked in place: message payloads that lie inside it come back
    /// as offsets (`EV_*_AT`), the others as new Buffers.
    #[napi]
    pub fn feed<'env>(
        &mut self,
        env: &'env Env,
        mut chunk: BufferSlice,
    ) -> Result<Option<Array<'env>>> {
        let data: &mut [u8] = &mut chunk;
        let mut events = Events::new(env, data);
        let res = self.conn.feed_mut(data, |event| events.push(event));
        self.touch();
        events.finish(res, self.conn.inflate_ready())
    }

    /// The received message waiting to be inflated (`null` when none waits), for
    /// `runInflate`; its result goes to `finishInflate`.
    #[napi]
    pub fn inflate_work(&mut self) -> Option<InflateWork> {
        self.conn.take_inflate_job().map(InflateWork::new)
    }

    /// Delivers an inflated message and parses what came after it: events as `feed`
    /// returns them (payloads as Buffers, never offsets).
    #[napi]
    pub fn finish_inflate<'env>(
        &mut self,
        env: &'env Env,
        done: &mut InflateWork,
    ) -> Result<Option<Array<'env>>> {
        let Some(job) = done.take() else {
            return Ok(None);
        };
        let mut events = Events::new(env, &[]);
        let res = self.conn.finish_inflate(job, |event| events.push(event));
        events.finish(res, self.conn.inflate_ready())
    }

    /// Frames a data message (or a fragment when `fin` is false) into the output.
    /// `data` is a string (UTF-8 encoded here) or bytes; `mask` (client only) and the
    /// optional 4-byte `maskKey` are ws's `mask` and `generateMask`; `socketBuffered` is
    /// what the socket holds unwritten (for the high-water mark and `maxBackpressure`).
    /// Answers as [`send_answer`].
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        data: Either<String, BufferSlice>,
        binary: bool,
        fin: bool,
        compress: bool,
        mask: bool,
        mask_key: Option<BufferSlice>,
        socket_buffered: Option<f64>,
    ) -> Option<Either<u32, CoreError>> {
        let kind = if binary {
            DataKind::Binary
        } else {
            DataKind::Text
        };
        let opts = SendOptions {
            fin,
            compress,
            mask,
            mask_key: mask_key_of(mask_key),
        };
        self.conn
            .set_transport_buffered(socket_buffered.map_or(0, |b| b.max(0.0) as usize));
        let res = self.conn.send(kind, bytes(&data), opts);
        self.touch();
        send_answer(&self.conn, res)
    }

    /// The message to compress next (`null` while one is out or none waits), for
    /// `runDeflate`; its result goes to `finishDeflate`.
    #[napi]
    pub fn deflate_work(&mut self) -> Option<DeflateWork> {
        self.conn.take_deflate_job().map(DeflateWork::new)
    }

    /// Frames a compressed message and the calls that waited behind it; returns how
    /// many of the calls that report back (send, ping, pong, sendFrame) were framed.
    #[napi]
    pub fn finish_deflate(&mut self, done: &mut DeflateWork) -> u32 {
        match done.take() {
            Some(job) => u32::try_from(self.conn.finish_deflate(job)).unwrap_or(u32::MAX),
            None => 0,
        }
    }

    /// Whether calls wait behind a compression job (they then return `SEND_DEFERRED`
    /// or go behind it the same way).
    #[napi(getter)]
    pub fn deferred(&self) -> bool {
        self.conn.deferred()
    }

    /// Payload bytes waiting behind or in a compression job (ws's `bufferedAmount`
    /// counts them).
    #[napi(getter)]
    pub fn deferred_bytes(&self) -> f64 {
        self.conn.deferred_bytes() as f64
    }

    /// Queues frames encoded by `encodeFrame` (ws `_sender.sendFrame`), in order with
    /// the other sends.
    #[napi]
    pub fn send_frame(&mut self, frame: BufferSlice) -> Option<CoreError> {
        let res = self.conn.send_frame(frame.to_vec());
        self.touch();
        res.err().map(|e| CoreError::from(&e))
    }

    /// JS writes a frame shared by many connections (`publish`) to the socket itself,
    /// after taking the output: may it, `len` bytes, with `socketBuffered` unwritten?
    /// Answers as [`send_answer`].
    #[napi]
    pub fn admit_external(
        &mut self,
        len: f64,
        socket_buffered: f64,
    ) -> Option<Either<u32, CoreError>> {
        self.conn
            .set_transport_buffered(socket_buffered.max(0.0) as usize);
        let res = self.conn.admit_external(len.max(0.0) as usize);
        self.touch();
        send_answer(&self.conn, res)
    }

    /// Whether the connection runs a heartbeat, idle timeout or max lifetime (the
    /// façade then asks `pollDeadline` after opening).
    #[napi(getter)]
    pub fn has_keepalive(&self) -> bool {
        self.conn.config().keepalive.is_on()
    }

    /// Queues a ping frame (payload ≤ 125 bytes); masking as in `send`.
    #[napi]
    pub fn ping(
        &mut self,
        data: Either<String, BufferSlice>,
        mask: bool,
        mask_key: Option<BufferSlice>,
    ) -> Option<CoreError> {
        self.conn
            .ping_with(bytes(&data), mask, mask_key_of(mask_key))
            .err()
            .map(|e| CoreError::from(&e))
    }

    /// Queues a pong frame (payload ≤ 125 bytes); masking as in `send`.
    #[napi]
    pub fn pong(
        &mut self,
        data: Either<String, BufferSlice>,
        mask: bool,
        mask_key: Option<BufferSlice>,
    ) -> Option<CoreError> {
        self.conn
            .pong_with(bytes(&data), mask, mask_key_of(mask_key))
            .err()
            .map(|e| CoreError::from(&e))
    }

    /// Answers a ping as it is emitted (ws `autoPong`). `false`: too many pongs wait
    /// unwritten (`maxPendingAutoPongs`) and the connection is to be destroyed.
    #[napi]
    pub fn answer_ping(&mut self, data: BufferSlice) -> bool {
        self.conn.answer_ping(&data)
    }

    /// The automatic pong goes through an overridden `pong()`: count it against the
    /// bound (`false` = over it, destroy); `autoPongWritten` when its callback runs.
    #[napi]
    pub fn begin_auto_pong(&mut self) -> bool {
        self.conn.begin_auto_pong()
    }

    /// An automatic pong sent through `pong()` was written.
    #[napi]
    pub fn auto_pong_written(&mut self) {
        self.conn.auto_pong_written();
    }

    /// ws `terminate()`: the socket is to be destroyed; nothing more is sent or parsed.
    #[napi]
    pub fn terminate(&mut self) {
        self.conn.terminate();
    }

    /// The socket's readable side ended.
    #[napi]
    pub fn peer_ended(&mut self) {
        self.conn.peer_ended();
    }

    /// What to do with the socket: 0 keep, 1 end once written, 2 destroy.
    #[napi(getter)]
    pub fn transport_action(&self) -> u32 {
        match self.conn.transport_action() {
            TransportAction::End => 1,
            TransportAction::Destroy => 2,
            _ => 0,
        }
    }

    /// The next deadline (ms on the caller's clock) at which `onTimeout` must run, or
    /// `null`; a deadline that started since the last call starts at `now`.
    #[napi]
    pub fn poll_deadline(&mut self, now: f64) -> Option<f64> {
        self.conn
            .poll_deadline(now.max(0.0) as u64)
            .map(|d| d as f64)
    }

    /// The deadline has come: past the close timeout the socket is to be destroyed.
    #[napi]
    pub fn on_timeout(&mut self, now: f64) {
        self.conn.on_timeout(now.max(0.0) as u64);
    }

    /// The code the 'close' event reports (the peer's, 1005 without one, else 1006).
    #[napi(getter)]
    pub fn close_code(&self) -> u32 {
        u32::from(self.conn.close_status().0)
    }

    /// The reason the 'close' event reports.
    #[napi]
    pub fn close_reason<'env>(&self, env: &'env Env) -> Result<BufferSlice<'env>> {
        BufferSlice::copy_from(env, self.conn.close_status().1.as_bytes())
    }

    /// Queues a close frame; validates code and reason as ws does.
    #[napi]
    pub fn close(&mut self, code: Option<u32>, reason: Option<String>) -> Option<CoreError> {
        let code = code.map(|c| u16::try_from(c).unwrap_or(0));
        self.conn
            .close(code, reason.as_deref().unwrap_or(""))
            .err()
            .map(|e| CoreError::from(&e))
    }

    /// Whether anything waits to be written (an owed close frame included).
    #[napi(getter)]
    pub fn has_output(&self) -> bool {
        self.conn.has_output()
    }

    /// Takes every byte waiting to be written (`null` when there is none).
    #[napi]
    pub fn take_output<'env>(&mut self, env: &'env Env) -> Result<Option<BufferSlice<'env>>> {
        if !self.conn.has_output() {
            return Ok(None);
        }
        let first = self.conn.output().len();
        let buf = if first < ZERO_COPY_MIN && first == self.conn.buffered() {
            let b = BufferSlice::copy_from(env, self.conn.output())?;
            self.conn.consume_output(first);
            b
        } else {
            BufferSlice::from_data(env, self.conn.take_output())?
        };
        Ok(Some(buf))
    }

    /// Whether both close frames were exchanged (the CloseEvent's `wasClean`).
    #[napi(getter)]
    pub fn was_clean(&self) -> bool {
        self.conn.was_clean()
    }

    /// 0 open (sends accepted: ws's OPEN, also while a close owed to the peer waits
    /// behind the replies to the messages before it), 1 closing, 2 closed (both close
    /// frames exchanged, failed or destroyed).
    #[napi(getter)]
    pub fn state(&self) -> u32 {
        if self.conn.can_send() {
            return 0;
        }
        match self.conn.state() {
            State::Closed => 2,
            _ => 1,
        }
    }
}

impl Engine {
    /// Reports traffic to a running keepalive at the clock JS sweeps deadlines on.
    fn touch(&mut self) {
        if self.conn.keepalive_active() {
            self.conn.note_traffic(now_ms());
        }
    }
}

/// Builds the flat event array `feed` and `finishInflate` return.
struct Events<'env> {
    env: &'env Env,
    out: Option<Array<'env>>,
    idx: u32,
    failure: Option<napi::Error>,
    /// The chunk payloads may lie in (address range; empty: none).
    base: usize,
    total: usize,
}

impl<'env> Events<'env> {
    fn new(env: &'env Env, chunk: &[u8]) -> Self {
        Events {
            env,
            out: None,
            idx: 0,
            failure: None,
            base: chunk.as_ptr() as usize,
            total: chunk.len(),
        }
    }

    fn array(&mut self) -> Result<&mut Array<'env>> {
        match self.out {
            Some(ref mut a) => Ok(a),
            None => Ok(self.out.insert(self.env.create_array(0)?)),
        }
    }

    fn push(&mut self, event: Event<'_>) {
        if self.failure.is_some() {
            return;
        }
        if let Err(e) = self.try_push(event) {
            self.failure = Some(e);
        }
    }

    fn try_push(&mut self, event: Event<'_>) -> Result<()> {
        let (base, total, env, idx) = (self.base, self.total, self.env, self.idx);
        // Offsets come from addresses only (nothing is dereferenced here); JS reads
        // the bytes from the chunk after this call, once unmasking is complete.
        let within = |part: &[u8]| {
            let start = (part.as_ptr() as usize).checked_sub(base)?;
            let end = start.checked_add(part.len())?;
            (total > 0 && end <= total).then_some((start as u32, end as u32))
        };
        let arr = self.array()?;
        let message = |arr: &mut Array<'env>, at: u32, inline: u32, bytes: &[u8]| -> Result<u32> {
            match within(bytes) {
                Some((start, end)) if total < u32::MAX as usize => {
                    arr.set(idx, at)?;
                    arr.set(idx + 1, start)?;
                    arr.set(idx + 2, end)?;
                    Ok(3)
                }
                _ => {
                    arr.set(idx, inline)?;
                    arr.set(idx + 1, BufferSlice::copy_from(env, bytes)?)?;
                    Ok(2)
                }
            }
        };
        let used = match event {
            Event::Text(t) => message(arr, EV_TEXT_AT, EV_TEXT, t.as_bytes())?,
            Event::UncheckedText(t) => message(arr, EV_TEXT_AT, EV_TEXT, t)?,
            Event::Binary(b) => message(arr, EV_BINARY_AT, EV_BINARY, b)?,
            Event::Ping(b) => {
                arr.set(idx, EV_PING)?;
                arr.set(idx + 1, BufferSlice::copy_from(env, b)?)?;
                2
            }
            Event::Pong(b) => {
                arr.set(idx, EV_PONG)?;
                arr.set(idx + 1, BufferSlice::copy_from(env, b)?)?;
                2
            }
            Event::FrameEnds(ends) => {
                arr.set(idx, EV_FRAME_ENDS)?;
                let ends: Vec<u32> = ends
                    .iter()
                    .map(|&e| u32::try_from(e).unwrap_or(u32::MAX))
                    .collect();
                arr.set(idx + 1, ends)?;
                2
            }
            Event::Close { .. } => {
                // The code and reason stay in the engine (`closeCode`, `closeReason`),
                // read once when the socket closes.
                arr.set(idx, EV_CLOSE)?;
                1
            }
            // An event kind this binding does not know yet: nothing to emit.
            _ => 0,
        };
        self.idx += used;
        Ok(())
    }

    /// The array (or `null`), ending with the protocol error, if any, or the mark
    /// that a message waits to be inflated.
    fn finish(
        mut self,
        res: std::result::Result<(), ProtocolError>,
        inflate_ready: bool,
    ) -> Result<Option<Array<'env>>> {
        if let Some(e) = self.failure.take() {
            return Err(e);
        }
        let idx = self.idx;
        if let Err(err) = res {
            let arr = self.array()?;
            arr.set(idx, EV_ERROR)?;
            arr.set(idx + 1, CoreError::from(&err))?;
        } else if inflate_ready {
            self.array()?.set(idx, EV_INFLATE)?;
        }
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_limits_map_to_core_config() {
        assert_eq!(limit(None, 7), 7);
        assert_eq!(limit(Some(0.0), 7), usize::MAX); // ws: 0 = no limit
        assert_eq!(limit(Some(f64::INFINITY), 7), usize::MAX);
        assert_eq!(limit(Some(1024.0), 7), 1024);
        let c = config(&EngineOptions {
            max_payload: Some(10.0),
            skip_utf8_validation: Some(true),
            threshold: Some(0.0),
            ..Default::default()
        });
        assert_eq!((c.max_message_size, c.max_frame_size), (10, 10));
        assert!(!c.validate_utf8);
        assert_eq!(c.compress_threshold, 0);
        let d = config(&EngineOptions::default());
        assert_eq!(d.max_message_size, 100 * 1024 * 1024); // ws's default maxPayload
        assert!(d.validate_utf8 && !d.auto_pong);
        assert_eq!((d.close_timeout, d.max_pending_pongs), (30_000, 60));
    }
}
