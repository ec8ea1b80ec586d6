//! `Engine`: a `ferrosocket_core::Connection` driven from JS, one napi call per chunk.

use ferrosocket_core::{Config, Connection, DataKind, Event, Role, SendOptions, State};
use napi::bindgen_prelude::{Array, BufferSlice, Either};
use napi::{Env, Result};
use napi_derive::napi;

use crate::error::CoreError;
use crate::handshake::DeflateHandle;

/// Event kinds in the flat array `feed` returns.
/// `TEXT, buf` | `BINARY, buf` | `PING, buf` | `PONG, buf` | `CLOSE, code, reasonBuf` | `ERROR, err`.
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
    /// ws `autoPong`. The façade passes `false` and answers pings while it emits the
    /// events, so a pong follows the replies to earlier messages as in ws; the bound on
    /// unanswered pongs (`maxPendingAutoPongs`) counts socket writes, which only JS sees.
    pub auto_pong: Option<bool>,
    /// ws `perMessageDeflate.threshold`.
    pub threshold: Option<f64>,
}

fn limit(value: Option<f64>, default: usize) -> usize {
    match value {
        None => default,
        Some(v) if v <= 0.0 || !v.is_finite() => usize::MAX,
        Some(v) => v as usize,
    }
}

fn config(opts: &EngineOptions) -> Config {
    let defaults = Config::default();
    let max_message_size = limit(opts.max_payload, 100 * 1024 * 1024);
    Config {
        max_message_size,
        max_frame_size: max_message_size,
        max_fragments: limit(opts.max_fragments, defaults.max_fragments),
        auto_pong: opts.auto_pong.unwrap_or(true),
        max_pending_pongs: defaults.max_pending_pongs,
        validate_utf8: !opts.skip_utf8_validation.unwrap_or(false),
        compress_threshold: opts
            .threshold
            .map(|t| t.max(0.0) as usize)
            .unwrap_or(defaults.compress_threshold),
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
                    Event::Close { code, reason } => {
                        arr.set(idx, EV_CLOSE)?;
                        arr.set(idx + 1, u32::from(code.unwrap_or(1005)))?;
                        arr.set(idx + 2, BufferSlice::copy_from(env, reason.as_bytes())?)?;
                        3
                    }
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
    /// `data` is a string (UTF-8 encoded here) or bytes. Returns an error object on misuse.
    #[napi]
    pub fn send(
        &mut self,
        data: Either<String, BufferSlice>,
        binary: bool,
        fin: bool,
        compress: bool,
        mask: Option<BufferSlice>,
    ) -> Option<CoreError> {
        let kind = if binary {
            DataKind::Binary
        } else {
            DataKind::Text
        };
        let mask = mask.and_then(|m| <[u8; 4]>::try_from(&m[..]).ok());
        let opts = SendOptions {
            fin,
            compress,
            mask,
        };
        let res = self.conn.send(kind, bytes(&data), opts);
        res.err().map(|e| CoreError::from(&e))
    }

    /// Queues a ping frame (payload ≤ 125 bytes).
    #[napi]
    pub fn ping(&mut self, data: Either<String, BufferSlice>) -> Option<CoreError> {
        self.conn
            .ping(bytes(&data))
            .err()
            .map(|e| CoreError::from(&e))
    }

    /// Queues a pong frame (payload ≤ 125 bytes).
    #[napi]
    pub fn pong(&mut self, data: Either<String, BufferSlice>) -> Option<CoreError> {
        self.conn
            .pong(bytes(&data))
            .err()
            .map(|e| CoreError::from(&e))
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

    /// Bytes waiting to be written.
    #[napi(getter)]
    pub fn output_length(&mut self) -> u32 {
        u32::try_from(self.conn.output().len()).unwrap_or(u32::MAX)
    }

    /// Takes every byte waiting to be written (`null` when there is none).
    #[napi]
    pub fn take_output<'env>(&mut self, env: &'env Env) -> Result<Option<BufferSlice<'env>>> {
        let len = self.conn.output().len();
        if len == 0 {
            return Ok(None);
        }
        let buf = if len >= ZERO_COPY_MIN {
            BufferSlice::from_data(env, self.conn.take_output())?
        } else {
            let b = BufferSlice::copy_from(env, self.conn.output())?;
            self.conn.consume_output(len);
            b
        };
        Ok(Some(buf))
    }

    /// Whether this side has queued its close frame.
    #[napi(getter)]
    pub fn close_sent(&self) -> bool {
        self.conn.close_sent()
    }

    /// Whether the peer's close frame has arrived.
    #[napi(getter)]
    pub fn close_received(&self) -> bool {
        self.conn.close_received().is_some()
    }

    /// 0 open, 1 closing, 2 closed (both close frames exchanged).
    #[napi(getter)]
    pub fn state(&self) -> u32 {
        match self.conn.state() {
            State::Open => 0,
            State::Closing => 1,
            State::Closed => 2,
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
        assert!(d.validate_utf8 && d.auto_pong);
    }
}
