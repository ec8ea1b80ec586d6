//! `Connection`: one WebSocket after its opening handshake. State, limits, the close
//! handshake (RFC 6455 §7) and the sending side live here; the frame reader is in
//! `recv.rs`.

use crate::close;
use crate::error::Error;
use crate::frame::{write_frame, OpCode};
use crate::recv::Reader;
use crate::rng;

#[cfg(feature = "deflate")]
use crate::deflate::{Codec, DeflateParams};

/// Which end of the connection this is; decides the masking rules (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Server,
}

/// Limits and behaviour of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Largest message (after inflating), in bytes; more fails with 1009.
    pub max_message_size: usize,
    /// Largest single frame payload, in bytes; more fails with 1009.
    pub max_frame_size: usize,
    /// Most frames in one message; more fails with 1009.
    pub max_fragments: usize,
    /// Answer pings with pongs without being asked (RFC 6455 §5.5.2).
    pub auto_pong: bool,
    /// Auto-pongs allowed to wait in the output while the caller does not drain it;
    /// past that, pings are reported but not answered (a peer that pings without
    /// reading cannot grow our memory).
    pub max_pending_pongs: usize,
    /// Check that text is UTF-8 (RFC 6455 §8.1). Off = deliver `Event::UncheckedText`.
    pub validate_utf8: bool,
    /// Messages shorter than this are sent uncompressed even when deflate is on.
    pub compress_threshold: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 64 << 20,
            max_frame_size: 64 << 20,
            max_fragments: 131_072,
            auto_pong: true,
            max_pending_pongs: 128,
            validate_utf8: true,
            compress_threshold: 1024,
        }
    }
}

/// RFC 6455 §7 states after the opening handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Data flows both ways.
    Open,
    /// One side has sent a close frame.
    Closing,
    /// Both close frames were exchanged, or the connection failed.
    Closed,
}

/// A data message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Text,
    Binary,
}

/// Options of [`Connection::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOptions {
    /// Last fragment of the message. `false` starts or continues a fragmented message.
    pub fin: bool,
    /// Compress when permessage-deflate is on and the message is over the threshold.
    pub compress: bool,
    /// A masking key to use (client only); `None` draws a random one.
    pub mask: Option<[u8; 4]>,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            fin: true,
            compress: true,
            mask: None,
        }
    }
}

/// Something the peer sent. Borrowed from the connection's buffers, valid during the
/// callback of [`Connection::feed`]; see [`OwnedEvent`] for an owned copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    Text(&'a str),
    /// Text that was not checked because `validate_utf8` is off.
    UncheckedText(&'a [u8]),
    Binary(&'a [u8]),
    Ping(&'a [u8]),
    Pong(&'a [u8]),
    /// The peer's close frame; `code` is `None` when it carried no status (ws: 1005).
    Close {
        code: Option<u16>,
        reason: &'a str,
    },
}

/// An owned [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedEvent {
    Text(String),
    UncheckedText(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close { code: Option<u16>, reason: String },
}

impl Event<'_> {
    pub fn to_owned(&self) -> OwnedEvent {
        match *self {
            Event::Text(t) => OwnedEvent::Text(t.to_string()),
            Event::UncheckedText(b) => OwnedEvent::UncheckedText(b.to_vec()),
            Event::Binary(b) => OwnedEvent::Binary(b.to_vec()),
            Event::Ping(b) => OwnedEvent::Ping(b.to_vec()),
            Event::Pong(b) => OwnedEvent::Pong(b.to_vec()),
            Event::Close { code, reason } => OwnedEvent::Close {
                code,
                reason: reason.to_string(),
            },
        }
    }
}

/// Buffers above this capacity are released once empty, so an idle connection holds
/// no large allocation.
pub(crate) const RETAIN_CAPACITY: usize = 1024;

/// A WebSocket connection after a successful opening handshake (sans-IO).
#[derive(Debug)]
pub struct Connection {
    pub(crate) role: Role,
    pub(crate) config: Config,
    pub(crate) reader: Reader,
    pub(crate) out: Vec<u8>,
    /// Some while a fragmented message is being sent: whether it is compressed.
    sending_fragmented: Option<bool>,
    pub(crate) pending_pongs: usize,
    pub(crate) close_sent: bool,
    pub(crate) close_received: Option<(Option<u16>, String)>,
    /// A close frame we owe: the reply to the peer's close (its code and reason, as
    /// `ws` echoes them) or the close of a failed connection (the error's code). It is
    /// written when the caller next takes the output, so replies to the messages that
    /// arrived before it in the same read go out first (RFC 6455 §5.5.1 lets an
    /// endpoint finish sending before it closes; `ws` does the same by answering each
    /// message synchronously).
    pub(crate) pending_close: Option<Vec<u8>>,
    pub(crate) failed: bool,
    #[cfg(feature = "deflate")]
    pub(crate) codec: Option<Box<Codec>>,
    /// Scratch space for compressed output / inflated input, released when large.
    #[cfg(feature = "deflate")]
    pub(crate) scratch: Vec<u8>,
}

impl Connection {
    /// A connection without extensions.
    pub fn new(role: Role, config: Config) -> Self {
        Connection {
            role,
            config,
            reader: Reader::default(),
            out: Vec::new(),
            sending_fragmented: None,
            pending_pongs: 0,
            close_sent: false,
            close_received: None,
            pending_close: None,
            failed: false,
            #[cfg(feature = "deflate")]
            codec: None,
            #[cfg(feature = "deflate")]
            scratch: Vec::new(),
        }
    }

    /// A connection with the permessage-deflate parameters agreed in the handshake.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(role: Role, config: Config, deflate: Option<DeflateParams>) -> Self {
        let mut c = Connection::new(role, config);
        c.codec = deflate.map(|p| Box::new(Codec::new(role, &p)));
        c
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether permessage-deflate is in use.
    pub fn deflate_enabled(&self) -> bool {
        #[cfg(feature = "deflate")]
        {
            self.codec.is_some()
        }
        #[cfg(not(feature = "deflate"))]
        {
            false
        }
    }

    pub fn state(&self) -> State {
        let close_sent = self.close_sent || self.pending_close.is_some();
        match (self.failed, close_sent, self.close_received.is_some()) {
            (true, _, _) | (_, true, true) => State::Closed,
            (_, true, false) | (_, false, true) => State::Closing,
            _ => State::Open,
        }
    }

    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// The peer's close frame, once received.
    pub fn close_received(&self) -> Option<(Option<u16>, &str)> {
        self.close_received.as_ref().map(|(c, r)| (*c, r.as_str()))
    }

    /// True once both close frames were exchanged or the connection failed: write the
    /// remaining output, then close the transport (the server first, RFC 6455 §7.1.1).
    pub fn should_close_transport(&self) -> bool {
        self.state() == State::Closed
    }

    /// Bytes waiting to be written to the transport.
    pub fn output(&mut self) -> &[u8] {
        self.write_close_reply();
        &self.out
    }

    pub fn has_output(&self) -> bool {
        !self.out.is_empty() || self.pending_close.is_some()
    }

    /// Writes the close frame we owe, if any.
    fn write_close_reply(&mut self) {
        let Some(payload) = self.pending_close.take() else {
            return;
        };
        if self.close_sent {
            return;
        }
        let mask = self.mask_key(None);
        write_frame(&mut self.out, OpCode::Close, true, false, mask, &payload);
        self.close_sent = true;
    }

    /// Marks the first `n` bytes of [`output`](Self::output) as written.
    pub fn consume_output(&mut self, n: usize) {
        let n = n.min(self.out.len());
        if n == self.out.len() {
            self.out.clear();
            self.pending_pongs = 0;
            if self.out.capacity() > RETAIN_CAPACITY {
                self.out = Vec::new();
            }
        } else {
            self.out.drain(..n);
        }
    }

    /// Takes all bytes waiting to be written.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.write_close_reply();
        self.pending_pongs = 0;
        std::mem::take(&mut self.out)
    }

    /// Sends a whole text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.send(DataKind::Text, text.as_bytes(), SendOptions::default())
    }

    /// Sends a whole binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.send(DataKind::Binary, data, SendOptions::default())
    }

    /// Sending is allowed until a close frame has gone into the output: after a
    /// failure or the peer's close, the caller may still answer the messages delivered
    /// before it, until it takes the output.
    fn check_open(&self) -> Result<(), Error> {
        if self.close_sent {
            Err(Error::NotOpen)
        } else {
            Ok(())
        }
    }

    fn mask_key(&self, given: Option<[u8; 4]>) -> Option<[u8; 4]> {
        // RFC 6455 §5.1: a client masks every frame, a server none.
        match self.role {
            Role::Client => Some(given.unwrap_or_else(rng::mask_key)),
            Role::Server => None,
        }
    }

    /// Sends a message or one fragment of it. With `fin: false` the message continues
    /// with the next `send` (its `kind` is then ignored: continuation frames have none).
    /// Text must be UTF-8 once whole; a `&str` caller guarantees that.
    pub fn send(&mut self, kind: DataKind, data: &[u8], opts: SendOptions) -> Result<(), Error> {
        self.check_open()?;
        let mask = self.mask_key(opts.mask);
        let (opcode, compressed) = match self.sending_fragmented {
            Some(compressed) => (OpCode::Continuation, compressed),
            None => {
                let op = match kind {
                    DataKind::Text => OpCode::Text,
                    DataKind::Binary => OpCode::Binary,
                };
                (
                    op,
                    opts.compress && self.should_compress(data.len(), opts.fin),
                )
            }
        };
        let first = self.sending_fragmented.is_none();
        self.sending_fragmented = if opts.fin { None } else { Some(compressed) };
        if compressed {
            self.write_compressed(opcode, first, opts.fin, mask, data)
        } else {
            write_frame(&mut self.out, opcode, opts.fin, false, mask, data);
            Ok(())
        }
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
    ) -> Result<(), Error> {
        let codec = self
            .codec
            .as_mut()
            .expect("compression chosen only with a codec");
        self.scratch.clear();
        codec.compress(data, fin, &mut self.scratch)?;
        // RFC 7692 §6: RSV1 marks the first frame of a compressed message only.
        write_frame(&mut self.out, op, fin, first, mask, &self.scratch);
        if self.scratch.capacity() > RETAIN_CAPACITY {
            self.scratch = Vec::new();
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
    ) -> Result<(), Error> {
        write_frame(&mut self.out, op, fin, false, mask, data);
        Ok(())
    }

    /// Sends a ping (payload ≤ 125 bytes, RFC 6455 §5.5).
    pub fn ping(&mut self, data: &[u8]) -> Result<(), Error> {
        self.control(OpCode::Ping, data, None)
    }

    /// Sends an unsolicited pong (a heartbeat, RFC 6455 §5.5.3).
    pub fn pong(&mut self, data: &[u8]) -> Result<(), Error> {
        self.control(OpCode::Pong, data, None)
    }

    /// Sends a control frame, optionally with a caller-chosen masking key (client only).
    pub fn control(&mut self, op: OpCode, data: &[u8], mask: Option<[u8; 4]>) -> Result<(), Error> {
        self.check_open()?;
        if data.len() > 125 {
            return Err(Error::ControlTooLong);
        }
        let mask = self.mask_key(mask);
        write_frame(&mut self.out, op, true, false, mask, data);
        Ok(())
    }

    /// Starts (or answers) the close handshake (RFC 6455 §7.1.2). Calling it again once
    /// a close frame was sent does nothing. Invalid codes and reasons over 123 bytes are
    /// refused, as `ws` refuses them.
    pub fn close(&mut self, code: Option<u16>, reason: &str) -> Result<(), Error> {
        if self.close_sent || self.failed {
            return Ok(());
        }
        self.pending_close = None;
        let mut payload = Vec::with_capacity(2 + reason.len());
        close::build_payload(code, reason, &mut payload)?;
        let mask = self.mask_key(None);
        write_frame(&mut self.out, OpCode::Close, true, false, mask, &payload);
        self.close_sent = true;
        Ok(())
    }

    /// Marks the connection failed after a protocol violation; the close frame with
    /// the matching code (RFC 6455 §7.1.7) is owed unless one was already sent.
    pub(crate) fn fail(&mut self, err: Error) -> Error {
        if !self.close_sent {
            self.pending_close = Some(err.close_code().to_be_bytes().to_vec());
        }
        self.failed = true;
        err
    }

    /// Queues a pong answering a ping, within the pending-pong bound.
    pub(crate) fn auto_pong(&mut self, payload_range: std::ops::Range<usize>) {
        if !self.config.auto_pong
            || self.close_sent
            || self.pending_pongs >= self.config.max_pending_pongs
        {
            return;
        }
        self.pending_pongs += 1;
        let mask = self.mask_key(None);
        write_frame(
            &mut self.out,
            OpCode::Pong,
            true,
            false,
            mask,
            &self.reader.control[payload_range],
        );
    }

    /// Heap bytes this connection holds in its buffers (deflate contexts excluded).
    /// Idle connections keep this at or below 1 KiB.
    pub fn buffered_heap_bytes(&self) -> usize {
        let base = self.out.capacity() + self.reader.heap_bytes();
        #[cfg(feature = "deflate")]
        let base = base + self.scratch.capacity();
        base
    }

    /// Like [`feed`](Self::feed), collecting owned events into `out`.
    pub fn feed_owned(&mut self, data: &[u8], out: &mut Vec<OwnedEvent>) -> Result<(), Error> {
        self.feed(data, |e| out.push(e.to_owned()))
    }
}
