//! permessage-deflate's codec (RFC 7692 §7.2): one connection's compressor and
//! decompressor, the per-thread shared ones used when a direction has no context
//! takeover, and the jobs that let a caller run the zlib work on another thread.
//!
//! A job ([`DeflateJob`], [`InflateJob`]) owns everything the zlib work needs (the
//! connection's context, or a marker for the running thread's shared one, and the
//! bytes), so it is `Send` and borrows nothing: the caller takes it from the
//! [`Connection`](crate::Connection), runs it anywhere, and hands it back, which puts
//! the context back and frames (or delivers) the result in order.

use std::cell::RefCell;

use flate2::{Decompress, FlushDecompress, Status};
use zlib_rs::{Deflate, DeflateConfig, DeflateFlush, Method, Strategy};

use crate::deflate::{DeflateParams, ZlibOptions};
use crate::error::ProtocolError as Error;
use crate::Role;

/// RFC 7692 §7.2.1: the sync-flush marker removed from (and restored to) each message.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Shared contexts kept per thread (one per distinct setting; one in practice).
const SHARED_PER_THREAD: usize = 4;

/// What a shared compressor is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DeflateKey {
    zlib: ZlibOptions,
    bits: u8,
}

thread_local! {
    /// uWebSockets.js's SHARED_COMPRESSOR: connections whose compressor resets after
    /// every message (no context takeover, RFC 7692 §7.1.1) hold none; each message is
    /// compressed with the running thread's one, reset after use.
    static SHARED_DEFLATE: RefCell<Vec<(DeflateKey, Deflate)>> = const { RefCell::new(Vec::new()) };
    /// The same for decompressors of peers without context takeover (window 15 fits
    /// every peer window, RFC 7692 §7.1.2).
    static SHARED_INFLATE: RefCell<Vec<Decompress>> = const { RefCell::new(Vec::new()) };
}

fn new_deflate(key: DeflateKey) -> Deflate {
    let z = key.zlib;
    let strategy = match z.strategy {
        1 => Strategy::Filtered,
        2 => Strategy::HuffmanOnly,
        3 => Strategy::Rle,
        4 => Strategy::Fixed,
        _ => Strategy::Default,
    };
    // Raw deflate (negative window bits, RFC 7692 §7.2.1); every value is in zlib's
    // range (`ZlibOptions::clamped`, `send_bits` ≥ 9), so zlib accepts it.
    Deflate::new_with_config(DeflateConfig {
        level: z.level as i32,
        method: Method::Deflated,
        window_bits: -i32::from(key.bits),
        mem_level: i32::from(z.mem_level),
        strategy,
    })
}

/// Runs `f` with this thread's shared compressor for `key`, reset afterwards.
fn with_shared_deflate<R>(key: DeflateKey, f: impl FnOnce(&mut Deflate) -> R) -> R {
    // Taken out of the cell while in use: nothing is borrowed across `f`.
    let taken = SHARED_DEFLATE.with(|s| {
        let mut v = s.borrow_mut();
        let i = v.iter().position(|(k, _)| *k == key)?;
        Some(v.swap_remove(i).1)
    });
    let mut z = taken.unwrap_or_else(|| new_deflate(key));
    let r = f(&mut z);
    z.reset();
    SHARED_DEFLATE.with(|s| {
        let mut v = s.borrow_mut();
        if v.len() < SHARED_PER_THREAD {
            v.push((key, z));
        }
    });
    r
}

fn with_shared_inflate<R>(f: impl FnOnce(&mut Decompress) -> R) -> R {
    let taken = SHARED_INFLATE.with(|s| s.borrow_mut().pop());
    let mut d = taken.unwrap_or_else(|| Decompress::new_with_window_bits(false, 15));
    let r = f(&mut d);
    d.reset(false);
    SHARED_INFLATE.with(|s| {
        let mut v = s.borrow_mut();
        if v.len() < SHARED_PER_THREAD {
            v.push(d);
        }
    });
    r
}

/// Compresses `data` with a sync flush (RFC 7692 §7.2.1) into `out`.
fn deflate_into(
    z: &mut Deflate,
    data: &[u8],
    out: &mut Vec<u8>,
    chunk: usize,
) -> Result<(), zlib_rs::DeflateError> {
    let start_in = z.total_in();
    loop {
        let consumed = (z.total_in() - start_in) as usize;
        let room = if chunk > 0 { chunk } else { data.len() / 2 }.max(64);
        let len = out.len();
        out.resize(len + room, 0);
        let before = z.total_out();
        let r = z.compress(&data[consumed..], &mut out[len..], DeflateFlush::SyncFlush);
        let produced = (z.total_out() - before) as usize;
        out.truncate(len + produced);
        r?;
        // The flush is complete once zlib stops short of filling the output.
        if (z.total_in() - start_in) as usize == data.len() && produced < room {
            return Ok(());
        }
    }
}

/// Inflates one whole message into `out`, failing with `MessageTooBig` as soon as the
/// output would pass `max` bytes (zip bombs stop early).
fn inflate_into(
    d: &mut Decompress,
    data: &[u8],
    out: &mut Vec<u8>,
    max: usize,
    step: usize,
) -> Result<(), Error> {
    for input in [data, &TAIL[..]] {
        let start_in = d.total_in();
        loop {
            let consumed = (d.total_in() - start_in) as usize;
            if out.capacity() - out.len() < 1024 {
                out.reserve_exact(step.min(max.saturating_sub(out.len()) + 1).max(1024));
            }
            let before_out = out.len();
            let status = d
                .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
                .map_err(|e| Error::InvalidCompressedData(e.to_string()))?;
            if out.len() > max {
                return Err(Error::MessageTooBig);
            }
            let done_in = (d.total_in() - start_in) as usize == input.len();
            let progressed = out.len() > before_out;
            if status == Status::StreamEnd || (done_in && out.len() < out.capacity()) {
                break;
            }
            if !progressed && done_in {
                break;
            }
        }
    }
    Ok(())
}

/// The compressor a message is compressed with.
enum DeflateState {
    /// The connection's own context (context takeover, or a fragmented message).
    Own(Box<Deflate>),
    /// The running thread's shared one.
    Shared(DeflateKey),
}

impl DeflateState {
    fn run(&mut self, data: &[u8], out: &mut Vec<u8>, chunk: usize) -> Result<(), ()> {
        let r = match self {
            DeflateState::Own(z) => deflate_into(z, data, out, chunk),
            DeflateState::Shared(key) => {
                with_shared_deflate(*key, |z| deflate_into(z, data, out, chunk))
            }
        };
        r.map_err(|_| ())
    }
}

/// The decompressor a message is inflated with.
enum InflateState {
    Own(Box<Decompress>),
    Shared,
}

impl InflateState {
    fn run(
        &mut self,
        data: &[u8],
        out: &mut Vec<u8>,
        max: usize,
        step: usize,
    ) -> Result<(), Error> {
        match self {
            InflateState::Own(d) => inflate_into(d, data, out, max, step),
            InflateState::Shared => with_shared_inflate(|d| inflate_into(d, data, out, max, step)),
        }
    }
}

/// One message (or fragment) to compress, away from its connection (see the module doc).
pub struct DeflateJob {
    state: DeflateState,
    input: Vec<u8>,
    output: Vec<u8>,
    fin: bool,
    chunk: usize,
    result: Result<(), ()>,
}

impl std::fmt::Debug for DeflateJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeflateJob")
            .field("input", &self.input.len())
            .finish()
    }
}

impl DeflateJob {
    /// Does the zlib work. Runs on any thread; call it once.
    pub fn run(&mut self) {
        let mut out = Vec::new();
        self.result = self.state.run(&self.input, &mut out, self.chunk);
        if self.fin && out.ends_with(&TAIL) {
            out.truncate(out.len() - 4);
        }
        self.output = out;
        self.input = Vec::new();
    }

    /// Bytes of the payload.
    pub fn len(&self) -> usize {
        self.input.len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.input.is_empty()
    }
}

/// One received message to inflate, away from its connection (see the module doc).
pub struct InflateJob {
    state: InflateState,
    input: Vec<u8>,
    output: Vec<u8>,
    max: usize,
    step: usize,
    result: Result<(), Error>,
}

impl std::fmt::Debug for InflateJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InflateJob")
            .field("input", &self.input.len())
            .finish()
    }
}

impl InflateJob {
    /// Does the zlib work. Runs on any thread; call it once.
    pub fn run(&mut self) {
        let mut out = Vec::new();
        self.result = self.state.run(&self.input, &mut out, self.max, self.step);
        self.output = out;
        self.input = Vec::new();
    }
}

/// One connection's permessage-deflate state. Contexts are created on first use, so
/// a connection that never sends (or receives) compressed data pays nothing for them,
/// and a direction without context takeover never holds one between messages.
pub struct Codec {
    zlib: ZlibOptions,
    /// Our window; `None` when the peer allowed only 8 bits, which zlib cannot
    /// produce for raw deflate: we then send uncompressed, which RFC 7692 permits.
    send_bits: Option<u8>,
    /// The peer's window: our decompressor needs no more (RFC 7692 §7.1.2). zlib
    /// turns a requested 8 into 9, so 9 is the least we allow for.
    recv_bits: u8,
    send_reset: bool,
    recv_reset: bool,
    compress: Option<Box<Deflate>>,
    decompress: Option<Box<Decompress>>,
}

impl std::fmt::Debug for Codec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codec")
            .field("send_bits", &self.send_bits)
            .finish()
    }
}

impl Codec {
    /// The codec for `role` with the negotiated parameters.
    pub fn new(role: Role, p: &DeflateParams) -> Self {
        let (send_bits, recv_bits, send_reset, recv_reset) = match role {
            Role::Server => (
                p.server_max_window_bits,
                p.client_max_window_bits,
                p.server_no_context_takeover,
                p.client_no_context_takeover,
            ),
            Role::Client => (
                p.client_max_window_bits,
                p.server_max_window_bits,
                p.client_no_context_takeover,
                p.server_no_context_takeover,
            ),
        };
        Codec {
            zlib: p.zlib.clamped(),
            send_bits: (9..=15).contains(&send_bits).then_some(send_bits),
            recv_bits: recv_bits.clamp(9, 15),
            send_reset,
            recv_reset,
            compress: None,
            decompress: None,
        }
    }

    /// Whether outgoing messages may be compressed at all.
    pub fn can_compress(&self) -> bool {
        self.send_bits.is_some()
    }

    fn deflate_state(&mut self, first: bool, fin: bool) -> DeflateState {
        let key = DeflateKey {
            zlib: self.zlib,
            bits: self.send_bits.unwrap_or(15),
        };
        match self.compress.take() {
            Some(z) => DeflateState::Own(z),
            // A whole message without context takeover: the thread's shared one. A
            // fragmented one needs its context until its last fragment.
            None if self.send_reset && first && fin => DeflateState::Shared(key),
            None => DeflateState::Own(Box::new(new_deflate(key))),
        }
    }

    fn restore_deflate(&mut self, state: DeflateState, fin: bool) {
        if let DeflateState::Own(z) = state {
            // §7.1.1: no context takeover → a fresh context for every message.
            if !(fin && self.send_reset) {
                self.compress = Some(z);
            }
        }
    }

    /// Compresses one fragment (`first`: of a new message; `fin`: its last) into `out`
    /// on this thread. zlib refuses only when its state is corrupt, which the caller
    /// treats as fatal.
    pub fn compress(
        &mut self,
        data: &[u8],
        first: bool,
        fin: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), ()> {
        let mut state = self.deflate_state(first, fin);
        let r = state.run(data, out, self.zlib.deflate_chunk);
        if fin && out.ends_with(&TAIL) {
            out.truncate(out.len() - 4);
        }
        self.restore_deflate(state, fin);
        r
    }

    /// The compression of `data` as a job; the context stays with the job until
    /// [`finish_deflate`](Self::finish_deflate).
    pub fn deflate_job(&mut self, data: Vec<u8>, first: bool, fin: bool) -> DeflateJob {
        DeflateJob {
            state: self.deflate_state(first, fin),
            input: data,
            output: Vec::new(),
            fin,
            chunk: self.zlib.deflate_chunk,
            result: Ok(()),
        }
    }

    /// Takes back a job's context; returns its compressed bytes.
    pub fn finish_deflate(&mut self, job: DeflateJob) -> Result<Vec<u8>, ()> {
        self.restore_deflate(job.state, job.fin);
        job.result.map(|()| job.output)
    }

    fn inflate_state(&mut self) -> InflateState {
        match self.decompress.take() {
            Some(d) => InflateState::Own(d),
            None if self.recv_reset => InflateState::Shared,
            None => InflateState::Own(Box::new(Decompress::new_with_window_bits(
                false,
                self.recv_bits,
            ))),
        }
    }

    fn restore_inflate(&mut self, state: InflateState) {
        if let InflateState::Own(d) = state {
            if !self.recv_reset {
                self.decompress = Some(d);
            }
        }
    }

    /// Inflates a whole message into `out` on this thread (see [`InflateJob`] for the
    /// other way), failing with `MessageTooBig` past `max` bytes.
    pub fn decompress(&mut self, data: &[u8], out: &mut Vec<u8>, max: usize) -> Result<(), Error> {
        let mut state = self.inflate_state();
        let r = state.run(data, out, max, self.zlib.inflate_chunk);
        self.restore_inflate(state);
        r
    }

    /// The inflation of a whole message as a job.
    pub fn inflate_job(&mut self, data: Vec<u8>, max: usize) -> InflateJob {
        InflateJob {
            state: self.inflate_state(),
            input: data,
            output: Vec::new(),
            max,
            step: self.zlib.inflate_chunk,
            result: Ok(()),
        }
    }

    /// Takes back a job's context; returns the inflated message.
    pub fn finish_inflate(&mut self, job: InflateJob) -> Result<Vec<u8>, Error> {
        self.restore_inflate(job.state);
        job.result.map(|()| job.output)
    }

    /// Heap bytes of the contexts this connection holds between messages (an estimate
    /// from zlib's documented sizes, for memory accounting).
    pub fn context_bytes(&self) -> usize {
        let deflate = self.compress.as_ref().map_or(0, |_| {
            let bits = u32::from(self.send_bits.unwrap_or(15));
            (1usize << (bits + 2)) + (1usize << (u32::from(self.zlib.mem_level) + 9))
        });
        let inflate = self
            .decompress
            .as_ref()
            .map_or(0, |_| (1usize << self.recv_bits) + 7 * 1024);
        deflate + inflate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deflate::DeflateConfig;

    fn params(nct: bool, bits: u8) -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: nct,
            client_no_context_takeover: nct,
            server_max_window_bits: bits,
            client_max_window_bits: bits,
            zlib: ZlibOptions::default(),
        }
    }

    fn default_params() -> DeflateParams {
        DeflateConfig::default()
            .accept("permessage-deflate")
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn rfc7692_7_2_codec_roundtrip_with_and_without_context() {
        for nct in [false, true] {
            for bits in [9u8, 15] {
                let p = params(nct, bits);
                let mut tx = Codec::new(Role::Client, &p);
                let mut rx = Codec::new(Role::Server, &p);
                for i in 0..20 {
                    let msg = format!("hello hello hello {i} {}", "abc".repeat(i * 50));
                    let mut z = Vec::new();
                    tx.compress(msg.as_bytes(), true, true, &mut z).unwrap();
                    let mut back = Vec::new();
                    rx.decompress(&z, &mut back, 1 << 20).unwrap();
                    assert_eq!(back, msg.as_bytes());
                }
                // Without context takeover nothing is kept between messages.
                assert_eq!(tx.compress.is_none() && rx.decompress.is_none(), nct);
            }
        }
    }

    #[test]
    fn jobs_give_the_same_bytes_as_the_inline_path_in_order() {
        for nct in [false, true] {
            let p = params(nct, 15);
            let mut inline = Codec::new(Role::Server, &p);
            let mut offloaded = Codec::new(Role::Server, &p);
            let mut rx = Codec::new(Role::Client, &p);
            for i in 0..5 {
                let msg = format!("{i} {}", "json-ish payload ".repeat(100 * (i + 1)));
                let mut a = Vec::new();
                inline.compress(msg.as_bytes(), true, true, &mut a).unwrap();
                let mut job = offloaded.deflate_job(msg.clone().into_bytes(), true, true);
                std::thread::spawn(move || {
                    job.run();
                    job
                })
                .join()
                .map(|job| {
                    let b = offloaded.finish_deflate(job).unwrap();
                    assert_eq!(a, b, "message {i}");
                })
                .unwrap();
                let mut ijob = rx.inflate_job(a, 1 << 20);
                let ijob = std::thread::spawn(move || {
                    ijob.run();
                    ijob
                })
                .join()
                .unwrap();
                assert_eq!(rx.finish_inflate(ijob).unwrap(), msg.as_bytes());
            }
        }
    }

    #[test]
    fn fragmented_message_keeps_its_own_context_without_takeover() {
        let p = params(true, 15);
        let mut tx = Codec::new(Role::Server, &p);
        let mut rx = Codec::new(Role::Client, &p);
        let mut z = Vec::new();
        tx.compress(b"first half, ", true, false, &mut z).unwrap();
        // Another connection uses the shared compressor between the fragments.
        let mut other = Codec::new(Role::Server, &p);
        other
            .compress(b"unrelated", true, true, &mut Vec::new())
            .unwrap();
        tx.compress(b"second half", false, true, &mut z).unwrap();
        let mut back = Vec::new();
        rx.decompress(&z, &mut back, 1000).unwrap();
        assert_eq!(back, b"first half, second half");
        assert!(tx.compress.is_none());
    }

    #[test]
    fn zlib_options_are_honoured() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let sized = |zlib: ZlibOptions| {
            let mut p = params(false, 15);
            p.zlib = zlib;
            let mut z = Vec::new();
            Codec::new(Role::Server, &p)
                .compress(&data, true, true, &mut z)
                .unwrap();
            let mut back = Vec::new();
            Codec::new(Role::Client, &p)
                .decompress(&z, &mut back, 1 << 20)
                .unwrap();
            assert_eq!(back, data);
            z.len()
        };
        let stored = sized(ZlibOptions {
            level: 0,
            ..Default::default()
        });
        assert!(stored > data.len(), "level 0 stores");
        let huffman = sized(ZlibOptions {
            strategy: 2,
            ..Default::default()
        });
        let default = sized(ZlibOptions::default());
        assert!(default < huffman, "{default} < {huffman}");
        // Out-of-range values are brought into range instead of making zlib refuse.
        sized(ZlibOptions {
            level: 42,
            mem_level: 0,
            strategy: 9,
            deflate_chunk: 100,
            inflate_chunk: 1,
        });
    }

    #[test]
    fn rfc7692_7_2_3_1_hello_example() {
        // RFC 7692 §7.2.3.1: "Hello" compressed, without the sync-flush tail.
        let mut rx = Codec::new(Role::Client, &default_params());
        let mut out = Vec::new();
        rx.decompress(&[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00], &mut out, 100)
            .unwrap();
        assert_eq!(out, b"Hello");
    }

    #[test]
    fn zip_bomb_stops_at_limit() {
        let p = default_params();
        let mut tx = Codec::new(Role::Client, &p);
        let mut z = Vec::new();
        tx.compress(&vec![0u8; 50 << 20], true, true, &mut z)
            .unwrap();
        assert!(z.len() < 100_000);
        let mut rx = Codec::new(Role::Server, &p);
        let mut out = Vec::new();
        assert_eq!(
            rx.decompress(&z, &mut out, 1 << 20),
            Err(Error::MessageTooBig)
        );
        assert!(
            out.capacity() <= (1 << 20) + 128 * 1024,
            "grew to {}",
            out.capacity()
        );
    }

    #[test]
    fn garbage_is_invalid_compressed_data() {
        let mut rx = Codec::new(Role::Server, &default_params());
        let r = rx.decompress(&[0xff, 0xff, 0xff, 0xff, 0xff], &mut Vec::new(), 1000);
        assert!(matches!(r, Err(Error::InvalidCompressedData(_))));
    }
}
