//! `Engine`: a `ferrosocket_core::Connection` driven from JS, one napi call per chunk.
//! The connection decides the lifecycle (close handshake, pong bound, close timeout,
//! when the socket is ended or destroyed); JS asks it and moves bytes.

use ferrosocket_core::{
    ws, Config, Connection, DataKind, Event, FrameSpec, Role, SendOptions, State, TransportAction,
};
use napi::bindgen_prelude::{Array, Buffer, BufferSlice, Either};
use napi::{Env, Result};
use napi_derive::napi;

use crate::error::CoreError;
use crate::handshake::DeflateHandle;

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
    /// ws `skipUTF8Validation`.
    pub skip_utf8_validation: Option<bool>,
    /// ws `perMessageDeflate.threshold`.
    pub threshold: Option<f64>,
    /// ws `closeTimeout` (ms).
    pub close_timeout: Option<f64>,
    /// ws `maxPendingAutoPongs` (0 = no bound).
    pub max_pending_auto_pongs: Option<f64>,
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
        ..defaults
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
        let mut out: Option<Array<'env>> = None;
        let mut idx: u32 = 0;
        let mut failure: Option<napi::Error> = None;
        let data: &mut [u8] = &mut chunk;
        let base = data.as_ptr() as usize;
        let total = data.len();
        let res = self.conn.feed_mut(data, |event| {
            if failure.is_some() {
                return;
            }
            // Offsets come from addresses only (nothing is dereferenced here); JS reads
            // the bytes from the chunk after this call, once unmasking is complete.
            let within = |part: &[u8]| {
                let start = (part.as_ptr() as usize).checked_sub(base)?;
                let end = start.checked_add(part.len())?;
                (end <= total).then_some((start as u32, end as u32))
            };
            let r = (|| -> Result<()> {
                let arr = match out.as_mut() {
                    Some(a) => a,
                    None => out.insert(env.create_array(0)?),
                };
                let message =
                    |arr: &mut Array<'env>, at: u32, inline: u32, bytes: &[u8]| -> Result<u32> {
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
                    Event::Close { .. } => {
                        // The code and reason stay in the engine (`closeCode`, `closeReason`),
                        // read once when the socket closes.
                        arr.set(idx, EV_CLOSE)?;
                        1
                    }
                    // An event kind this binding does not know yet: nothing to emit.
                    _ => 0,
                };
                idx += used;
                Ok(())
            })();
            if let Err(e) = r {
                failure = Some(e);
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        if let Err(err) = res {
            let arr = match out.as_mut() {
                Some(a) => a,
                None => out.insert(env.create_array(0)?),
            };
            arr.set(idx, EV_ERROR)?;
            arr.set(idx + 1, CoreError::from(&err))?;
        }
        Ok(out)
    }

    /// Frames a data message (or a fragment when `fin` is false) into the output.
    /// `data` is a string (UTF-8 encoded here) or bytes; `mask` (client only) and the
    /// optional 4-byte `maskKey` are ws's `mask` and `generateMask`. Returns an error
    /// object on misuse.
    #[napi]
    pub fn send(
        &mut self,
        data: Either<String, BufferSlice>,
        binary: bool,
        fin: bool,
        compress: bool,
        mask: bool,
        mask_key: Option<BufferSlice>,
    ) -> Option<CoreError> {
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
        let res = self.conn.send(kind, bytes(&data), opts);
        res.err().map(|e| CoreError::from(&e))
    }

    /// Queues frames encoded by `encodeFrame` (ws `_sender.sendFrame`), in order with
    /// the other sends.
    #[napi]
    pub fn send_frame(&mut self, frame: BufferSlice) -> Option<CoreError> {
        self.conn
            .send_frame(frame.to_vec())
            .err()
            .map(|e| CoreError::from(&e))
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
        self.conn.close_sent() && self.conn.close_received().is_some()
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
