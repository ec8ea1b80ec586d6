//! The listener, the connection table and everything done to a socket: accept, read
//! into the shared buffer, the handshake, the core, corked writes, deadlines, close.

use std::io::{self, IoSlice, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ferrosocket_core::handshake::{Acceptor, HandshakeError, HeaderError, Request, RequestHead};
use ferrosocket_core::{
    Config, Connection, DataKind, Delivery, Event as CoreEvent, SendOptions, SendStatus,
    TransportAction, UsageError,
};
use slab::Slab;
use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};

use crate::deadlines::Deadlines;
use crate::slot::{Flag, Phase, Refusal, Slot};
use crate::{Event, Interest, Job, Payload, Poller, Token, TransportConfig};

/// Most buffers handed to one vectored write.
const MAX_IOV: usize = 64;

/// The addresses and counters of a connection (what `net.Socket` reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's address (`None` if the socket could not tell: the peer is gone).
    /// Asked of the socket, as `net.Socket` does, not kept per connection.
    pub remote: Option<SocketAddr>,
    /// Our address (`None` if the socket could not tell).
    pub local: Option<SocketAddr>,
    /// Bytes read from the socket, handshake included.
    pub bytes_read: u64,
    /// Bytes written to the socket, handshake included.
    pub bytes_written: u64,
}

/// A listening WebSocket server whose sockets are driven by the caller's poller.
#[derive(Debug)]
pub struct Server<P: Poller> {
    poller: P,
    config: TransportConfig,
    /// `config.connection`, shared by every connection (not one copy each).
    connection_config: Arc<Config>,
    listener: Option<TcpListener>,
    slots: Slab<Slot>,
    generation: u32,
    /// The one read buffer, shared by every connection. Reads since the caller last
    /// took the events append to it (`batch_len` bytes are in use), so the payloads of
    /// several readinesses can be handed over together; it is reused from the start
    /// once no taken-over range can be in use (the next read after `take_events`).
    /// Reads go into its spare capacity, so a new buffer is never zeroed.
    batch: Vec<u8>,
    batch_len: usize,
    events: Vec<Event>,
    dirty: Vec<Token>,
    deadlines: Deadlines,
    /// zlib work taken from the connections, for the caller ([`take_jobs`](Self::take_jobs)).
    jobs: Vec<(Token, Job)>,
}

impl<P: Poller> Server<P> {
    /// Listens on `addr` (an unspecified IPv6 address also takes IPv4, as Node does)
    /// and registers the listener with `poller` as [`Token::LISTENER`].
    pub fn bind(addr: SocketAddr, config: TransportConfig, mut poller: P) -> io::Result<Self> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        if addr.is_ipv6() && addr.ip().is_unspecified() {
            socket.set_only_v6(false)?;
        }
        // As Node: a restarted server can bind while old connections are in TIME_WAIT.
        socket.set_reuse_address(true)?;
        socket.bind(&addr.into())?;
        socket.listen(config.backlog)?;
        socket.set_nonblocking(true)?;
        let listener: TcpListener = socket.into();
        poller.register(Token::LISTENER, listener.as_raw_fd(), Interest::READ)?;
        let mut server = Server::detached(config, poller);
        server.listener = Some(listener);
        Ok(server)
    }

    /// A connection table with no listener, for connections upgraded elsewhere and
    /// handed over with [`adopt`](Self::adopt): Node's HTTP server (`server` and
    /// `noServer` modes) and Node's HTTP client.
    pub fn detached(config: TransportConfig, poller: P) -> Self {
        Server {
            poller,
            batch: Vec::new(),
            connection_config: Arc::new(config.connection.clone()),
            config,
            listener: None,
            slots: Slab::new(),
            generation: 0,
            batch_len: 0,
            events: Vec::new(),
            dirty: Vec::new(),
            deadlines: Deadlines::default(),
            jobs: Vec::new(),
        }
    }

    /// Takes over a connection whose upgrade was done elsewhere: `conn` is its
    /// WebSocket (either role), `preface` bytes leave before any frame (a server's
    /// `101`), `leftover` holds the bytes already read past the upgrade, fed before
    /// anything read from the socket. Its events come as for accepted connections.
    pub fn adopt(
        &mut self,
        stream: TcpStream,
        mut conn: Box<Connection>,
        preface: Option<Vec<u8>>,
        mut leftover: Vec<u8>,
        now: u64,
    ) -> io::Result<Token> {
        if self.slots.len() >= Token::MAX_SLOTS {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "the connection table is full",
            ));
        }
        stream.set_nonblocking(true)?;
        // As ws on every upgraded socket.
        let _ = stream.set_nodelay(true);
        self.generation = self.generation.wrapping_add(1);
        let entry = self.slots.vacant_entry();
        let i = entry.key();
        let token = Token::new(i, self.generation);
        self.poller
            .register(token, stream.as_raw_fd(), Interest::READ)?;
        if let Some(head) = preface.filter(|h| !h.is_empty()) {
            // The 101 leaves first, as raw bytes at the head of the send queue.
            let _ = conn.send_frame(Bytes::from(head));
        }
        if !leftover.is_empty() {
            // Not in the read buffer: every payload is copied out (base 0).
            feed(&mut conn, token, &mut leftover, 0, 0, &mut self.events);
        }
        entry.insert(Slot::new(token, stream, Phase::Open(conn)));
        self.mark_dirty(i);
        self.settle(i, now);
        Ok(token)
    }

    /// Adds what an adopted socket carried before it was adopted (the upgrade's
    /// request and response, and what was read past them) to its byte counts, so they
    /// count from the socket's start as `net.Socket`'s do.
    pub fn count_earlier(&mut self, token: Token, bytes_read: u64, bytes_written: u64) {
        if let Some(i) = self.index(token) {
            let slot = &mut self.slots[i];
            slot.bytes_read += bytes_read;
            slot.bytes_written += bytes_written;
        }
    }

    /// The listener's address (`None` once it is closed).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// The poller the server drives.
    pub fn poller(&self) -> &P {
        &self.poller
    }

    /// Open connections (handshakes included).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no connection is open.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The bytes read for the pending events: [`Payload::Read`] ranges index into it.
    /// They stay valid after [`take_events`](Self::take_events) until the next read.
    pub fn batch_data(&self) -> &[u8] {
        &self.batch[..self.batch_len]
    }

    /// Takes the read buffer, with the payloads of the events just taken in it (the
    /// ranges of [`batch_data`](Self::batch_data)), and reads on into `replacement`: a
    /// caller hands the payloads over where they lie instead of copying them. Call
    /// after [`take_events`](Self::take_events).
    pub fn swap_batch(&mut self, mut replacement: Vec<u8>) -> Vec<u8> {
        self.batch_len = 0;
        // As large as the batches grew: reads that accumulate never move the bytes.
        replacement.clear();
        replacement.reserve(self.batch.capacity());
        std::mem::replace(&mut self.batch, replacement)
    }

    /// Bytes the pending events' payloads take in the read buffer. A caller that lets
    /// readinesses accumulate before taking the events delivers once this passes
    /// `TransportConfig::batch_limit`.
    pub fn batch_len(&self) -> usize {
        self.batch_len
    }

    /// Moves the events collected since the last call into `out` (cleared first).
    pub fn take_events(&mut self, out: &mut Vec<Event>) {
        out.clear();
        std::mem::swap(out, &mut self.events);
    }

    /// Whether events wait to be taken.
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The earliest deadline to call [`on_timeout`](Self::on_timeout) at.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadlines.next()
    }

    fn index(&self, token: Token) -> Option<usize> {
        let i = token.slot()?;
        (self.slots.get(i)?.token == token).then_some(i)
    }

    // ---- readiness -------------------------------------------------------------------

    /// The poller reported `token` ready. Reads (once: the poller is level-triggered,
    /// so more data reports again, and each connection gets its turn), writes what was
    /// refused before, and collects the events. Call [`flush`](Self::flush) after
    /// handling them.
    pub fn on_ready(&mut self, token: Token, readable: bool, writable: bool, now: u64) {
        if token == Token::LISTENER {
            self.accept_batch(now);
            return;
        }
        let Some(i) = self.index(token) else { return };
        if self.slots[i].flags.is(Flag::DESTROY_AFTER_JOB) {
            return;
        }
        if writable {
            self.write_slot(i, now);
        }
        if readable && self.slots.contains(i) && self.slots[i].wanted_interest().read {
            self.read_slot(i, now);
        }
        if self.slots.contains(i) {
            self.settle(i, now);
        }
    }

    fn accept_batch(&mut self, now: u64) {
        let Some(listener) = self.listener.as_ref() else {
            return;
        };
        for _ in 0..self.config.accept_batch.max(1) {
            let (stream, _) = match listener.accept() {
                Ok(pair) => pair,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: done. Anything else (ECONNABORTED, EMFILE...): try on the
                // next readiness, as Node's accept loop does.
                Err(_) => break,
            };
            if self.slots.len() >= Token::MAX_SLOTS || stream.set_nonblocking(true).is_err() {
                continue;
            }
            // ws sets TCP_NODELAY on every upgraded socket.
            let _ = stream.set_nodelay(true);
            self.generation = self.generation.wrapping_add(1);
            let entry = self.slots.vacant_entry();
            let token = Token::new(entry.key(), self.generation);
            if self
                .poller
                .register(token, stream.as_raw_fd(), Interest::READ)
                .is_err()
            {
                continue;
            }
            let acceptor = Box::new(Acceptor::new(self.config.acceptor.clone()));
            let mut slot = Slot::new(token, stream, Phase::Handshake(acceptor));
            let at = now.saturating_add(self.config.handshake_timeout);
            slot.deadline = Some(at);
            entry.insert(slot);
            self.deadlines.push(at, token);
        }
    }

    fn read_slot(&mut self, i: usize, now: u64) {
        if self.events.is_empty() {
            // Every range handed out before was taken and its reader is done.
            self.batch_len = 0;
        }
        let size = self.config.read_buffer.max(4096);
        if self.read_into_message(i, size) {
            return;
        }
        let start = self.batch_len;
        // Read into the buffer's spare room: a new buffer (one handed back by
        // `swap_batch`'s caller may be) is never zeroed first.
        self.batch.truncate(start);
        self.batch.reserve(size);
        let room = &mut self.batch.spare_capacity_mut()[..size];
        let r = SockRef::from(&self.slots[i].stream).recv(room);
        let Some(n) = self.received(i, r) else { return };
        // SAFETY: `recv` wrote `n` ≤ `size` bytes at the start of the spare room,
        // which is at least `size` bytes (reserved above): they are initialized.
        unsafe { self.batch.set_len(start + n) };
        let slot = &mut self.slots[i];
        let token = slot.token;
        match &mut slot.phase {
            // The acceptor keeps what it needs: the bytes are not part of the batch.
            Phase::Handshake(acceptor) => match acceptor.feed(&self.batch[start..start + n]) {
                Ok(None) => {}
                Ok(Some(incoming)) => {
                    slot.phase = Phase::Deciding(Box::new(incoming));
                    self.events.push(Event::Request(token));
                }
                Err(e) => match acceptor.take_refused() {
                    Some(request) if self.config.refused_to_caller => {
                        slot.phase = Phase::Refused(Box::new((e, request)));
                        self.events.push(Event::Refused(token));
                    }
                    _ => self.start_reject(i, &e, now),
                },
            },
            Phase::Open(conn) => {
                let base = self.batch.as_ptr() as usize;
                let data = &mut self.batch[start..start + n];
                if feed(conn, token, data, base, start + n, &mut self.events) {
                    // Some payload lies in these bytes: they stay in the batch.
                    self.batch_len = start + n;
                }
                self.mark_dirty(i);
            }
            // Not read in these phases (interest is off); a stray readiness is dropped.
            Phase::Deciding(_) | Phase::Refused(_) | Phase::Rejecting(_) => {}
        }
    }

    /// Reads the next payload bytes of a large frame straight into the message the
    /// core is assembling (see `Connection::payload_room`); `false` when the slot is
    /// not in one.
    fn read_into_message(&mut self, i: usize, size: usize) -> bool {
        let min = self.config.read_into_message_min;
        let slot = &mut self.slots[i];
        let Phase::Open(conn) = &mut slot.phase else {
            return false;
        };
        let Some(room) = conn.payload_room(min, size) else {
            return false;
        };
        let r = SockRef::from(&slot.stream).recv(room);
        let Some(n) = self.received(i, r) else {
            return true;
        };
        let slot = &mut self.slots[i];
        let Phase::Open(conn) = &mut slot.phase else {
            return true;
        };
        let token = slot.token;
        let events = &mut self.events;
        // SAFETY: `recv` wrote the first `n` bytes of the room it was given.
        let result = unsafe {
            conn.received_in_room(n, 0, |delivery| {
                push_delivery(events, token, delivery, |b| Payload::Owned(b.to_vec()))
            })
        };
        if let Err(e) = result {
            events.push(Event::Error(token, e));
        }
        self.mark_dirty(i);
        true
    }

    /// What a read of slot `i` gave: the bytes to parse (counted), or `None` once the
    /// rest is handled (nothing to read now, the peer's end, an error: closed).
    fn received(&mut self, i: usize, read: io::Result<usize>) -> Option<usize> {
        match read {
            Ok(0) => {
                self.on_eof(i);
                None
            }
            Ok(n) => {
                self.slots[i].bytes_read += n as u64;
                Some(n)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                None
            }
            Err(_) => {
                self.close_slot(i);
                None
            }
        }
    }

    fn on_eof(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        slot.flags.set(Flag::PEER_EOF, true);
        match &mut slot.phase {
            Phase::Open(conn) => {
                conn.peer_ended();
                self.mark_dirty(i);
            }
            _ => self.close_slot(i),
        }
    }

    // ---- the application's answer to a request --------------------------------------

    /// The checked request of a connection waiting for an answer ([`Event::Request`]).
    pub fn request(&self, token: Token) -> Option<&Request> {
        match &self.slots[self.index(token)?].phase {
            Phase::Deciding(incoming) => Some(incoming.request()),
            _ => None,
        }
    }

    /// A request handed over with [`Event::Refused`]: the error the acceptor would
    /// answer with, and the request. `None` once answered.
    pub fn refused(&self, token: Token) -> Option<(&HandshakeError, &RequestHead)> {
        match &self.slots[self.index(token)?].phase {
            Phase::Refused(r) => Some((&r.0, &r.1)),
            _ => None,
        }
    }

    /// Answers the request's permessage-deflate offer with the server's
    /// `TransportConfig::deflate`, by the core's rules (`ws`'s with its acceptor
    /// config: a bad or unacceptable offer is a 400 to [`reject`](Self::reject) with).
    /// Call it before [`accept`](Self::accept) (and before
    /// [`preview_response`](Self::preview_response)), where `ws` negotiates: after the
    /// path and the subprotocols, before `verifyClient`. `Some(Ok(true))`: agreed, the
    /// `101` answers with it and the connection compresses. `None`: no such request.
    pub fn negotiate_deflate(&mut self, token: Token) -> Option<Result<bool, HandshakeError>> {
        let i = self.index(token)?;
        let Phase::Deciding(incoming) = &mut self.slots[i].phase else {
            return None;
        };
        let Some(config) = self.config.deflate.as_ref() else {
            return Some(Ok(false));
        };
        Some(incoming.negotiate_deflate(config).map(|p| p.is_some()))
    }

    /// The `101` that [`accept`](Self::accept) would write with `protocol`, for an
    /// application that edits the response lines (ws's `'headers'` event).
    pub fn preview_response(
        &self,
        token: Token,
        protocol: Option<&str>,
    ) -> Option<Result<Vec<u8>, HeaderError>> {
        let Phase::Deciding(incoming) = &self.slots[self.index(token)?].phase else {
            return None;
        };
        let mut incoming = (**incoming).clone();
        if let Some(p) = protocol {
            if let Err(e) = incoming.select_protocol(p) {
                return Some(Err(e));
            }
        }
        // A malformed protocol header is refused by `accept`: nothing to preview then.
        incoming.accept().ok().map(|done| Ok(done.response))
    }

    /// Accepts the upgrade: writes the `101` (or `response`, the application's edited
    /// version of it), opens the WebSocket and feeds it the bytes that came with the
    /// request. `Ok(false)`: the connection is gone (or was already answered). A
    /// subprotocol that is not a token is refused and the request keeps waiting.
    pub fn accept(
        &mut self,
        token: Token,
        protocol: Option<&str>,
        response: Option<Vec<u8>>,
        now: u64,
    ) -> Result<bool, HeaderError> {
        let Some(i) = self.index(token) else {
            return Ok(false);
        };
        let slot = &mut self.slots[i];
        let Phase::Deciding(incoming) = &mut slot.phase else {
            return Ok(false);
        };
        if let Some(p) = protocol {
            incoming.select_protocol(p)?;
        }
        let Phase::Deciding(incoming) = std::mem::replace(
            &mut slot.phase,
            Phase::Handshake(Box::new(Acceptor::new(Default::default()))),
        ) else {
            unreachable!("the phase was matched above");
        };
        let mut done = match incoming.accept() {
            Ok(done) => done,
            Err(e) => {
                self.start_reject(i, &e, now);
                self.settle(i, now);
                return Ok(true);
            }
        };
        let mut conn = Box::new(done.connection(self.connection_config.clone()));
        let head = response.unwrap_or_else(|| std::mem::take(&mut done.response));
        // The 101 leaves first. Written now: a new socket's buffer takes it whole, and
        // the core's send queue then keeps no allocation for an idle connection. What
        // the kernel refuses (or an error, which the next write finds again) goes at
        // the head of the queue, as raw bytes.
        let n = write_all_nonblocking(&mut slot.stream, &head).unwrap_or(0);
        slot.bytes_written += n as u64;
        if n < head.len() {
            let _ = conn.send_frame(Bytes::from(head).slice(n..));
        }
        if !done.leftover.is_empty() {
            // Not in the read buffer: every payload is copied out (base 0).
            feed(&mut conn, token, &mut done.leftover, 0, 0, &mut self.events);
        }
        slot.phase = Phase::Open(conn);
        slot.deadline = None;
        self.mark_dirty(i);
        self.settle(i, now);
        Ok(true)
    }

    /// Refuses the upgrade with `error`'s HTTP response, then closes the connection.
    pub fn reject(&mut self, token: Token, error: &HandshakeError, now: u64) -> bool {
        let Some(i) = self.index(token) else {
            return false;
        };
        if !matches!(self.slots[i].phase, Phase::Deciding(_) | Phase::Refused(_)) {
            return false;
        }
        self.start_reject(i, error, now);
        self.settle(i, now);
        true
    }

    /// Leaves the answer to a request waiting for the caller ([`Event::Request`] or
    /// [`Event::Refused`]) to the caller's own bytes ([`write_raw`](Self::write_raw)),
    /// as `ws` hands the socket to `'wsClientError'`: the socket closes once they are
    /// written after [`end`](Self::end), at [`destroy`](Self::destroy), or at the
    /// handshake timeout from now (a socket left open is not kept forever).
    pub fn refuse_raw(&mut self, token: Token, now: u64) -> bool {
        let Some(i) = self.index(token) else {
            return false;
        };
        if !matches!(self.slots[i].phase, Phase::Deciding(_) | Phase::Refused(_)) {
            return false;
        }
        let refusal = Refusal {
            response: Vec::new(),
            written: 0,
            raw: true,
            keep_alive: false,
        };
        self.start_refusal(i, refusal, now);
        true
    }

    /// Queues bytes of a [`refuse_raw`](Self::refuse_raw) answer (written with the
    /// next flush). `false`: not such an answer, or it was ended.
    pub fn write_raw(&mut self, token: Token, bytes: &[u8]) -> bool {
        let Some(i) = self.index(token) else {
            return false;
        };
        let slot = &mut self.slots[i];
        match &mut slot.phase {
            Phase::Rejecting(r) if r.raw && !slot.flags.is(Flag::END_REQUESTED) => {
                r.response.extend_from_slice(bytes);
                self.mark_dirty(i);
                true
            }
            _ => false,
        }
    }

    fn start_reject(&mut self, i: usize, error: &HandshakeError, now: u64) {
        let refusal = Refusal {
            response: error.response(),
            written: 0,
            raw: false,
            keep_alive: error.keeps_alive(),
        };
        self.start_refusal(i, refusal, now);
    }

    fn start_refusal(&mut self, i: usize, refusal: Refusal, now: u64) {
        let slot = &mut self.slots[i];
        slot.phase = Phase::Rejecting(Box::new(refusal));
        // A peer that does not read its refusal is dropped at the handshake timeout.
        let at = now.saturating_add(self.config.handshake_timeout);
        slot.deadline = Some(at);
        self.deadlines.push(at, slot.token);
        self.mark_dirty(i);
    }

    // ---- the application's calls on a WebSocket ---------------------------------------

    /// Runs `f` on an open connection (send, ping, close, terminate...); what it queues
    /// leaves with the next [`flush`](Self::flush). `None`: no such open connection.
    pub fn with_connection<R>(
        &mut self,
        token: Token,
        f: impl FnOnce(&mut Connection) -> R,
    ) -> Option<R> {
        let i = self.index(token)?;
        let Phase::Open(conn) = &mut self.slots[i].phase else {
            return None;
        };
        let r = f(conn);
        self.mark_dirty(i);
        Some(r)
    }

    /// Sends a message on an open connection (as [`Connection::send`]); `answer` reads
    /// the result with the connection. A payload of `TransportConfig::write_through_min`
    /// bytes or more is written at once, behind what the connection queued, when the
    /// socket can take it (the kernel reads it from `data`: no copy into the queue); a
    /// smaller one is queued for the next [`flush`](Self::flush) with the batch's other
    /// replies. `None`: no such open connection.
    pub fn send<R>(
        &mut self,
        token: Token,
        kind: DataKind,
        data: &[u8],
        opts: SendOptions,
        answer: impl FnOnce(&Connection, Result<SendStatus, UsageError>) -> R,
    ) -> Option<R> {
        let i = self.index(token)?;
        let through = data.len() >= self.config.write_through_min;
        let slot = &mut self.slots[i];
        let Phase::Open(conn) = &mut slot.phase else {
            return None;
        };
        let r = if through && !slot.flags.is(Flag::WANT_WRITE) && !slot.flags.is(Flag::HELD) {
            let stream = &mut slot.stream;
            let mut wrote = 0;
            let res = conn.send_writing(kind, data, opts, |iov| {
                // An error is met again by the flush's write, which closes the socket.
                wrote = write_vectored_nonblocking(stream, iov).unwrap_or(0);
                wrote
            });
            slot.bytes_written += wrote as u64;
            answer(conn, res)
        } else {
            let res = conn.send(kind, data, opts);
            answer(conn, res)
        };
        self.mark_dirty(i);
        Some(r)
    }

    /// An open connection, to read its state.
    pub fn connection(&self, token: Token) -> Option<&Connection> {
        match &self.slots[self.index(token)?].phase {
            Phase::Open(conn) => Some(conn),
            _ => None,
        }
    }

    /// Writes what `token` queued now, instead of at the next [`flush`](Self::flush)
    /// (an application asking how much is buffered).
    pub fn write_now(&mut self, token: Token, now: u64) {
        let Some(i) = self.index(token) else { return };
        if !self.slots[i].flags.is(Flag::WANT_WRITE) {
            self.write_slot(i, now);
        }
        if self.slots.contains(i) {
            self.settle(i, now);
        }
    }

    /// Report [`Event::Drained`] once everything queued on `token` is written.
    pub fn notify_drain(&mut self, token: Token) {
        if let Some(i) = self.index(token) {
            self.slots[i].flags.set(Flag::NOTIFY_DRAIN, true);
            self.mark_dirty(i);
        }
    }

    /// Stops (`true`) or restarts reading a connection; the kernel buffers meanwhile.
    pub fn set_paused(&mut self, token: Token, paused: bool) {
        if let Some(i) = self.index(token) {
            self.slots[i].flags.set(Flag::PAUSED, paused);
            self.update_interest(i);
        }
    }

    /// Holds (`true`) or releases a connection's output. An application that delivers
    /// the events of a read one at a time (ws's `allowSynchronousEvents: false`) holds
    /// it while events before the peer's close frame or a violation wait: the close the
    /// core owes goes out after the replies to them, as from ws, which sends it only
    /// once it has parsed that far.
    pub fn set_held(&mut self, token: Token, held: bool) {
        if let Some(i) = self.index(token) {
            self.slots[i].flags.set(Flag::HELD, held);
            self.mark_dirty(i);
        }
    }

    /// Ends our write side once the output is written (`net.Socket#end`).
    pub fn end(&mut self, token: Token) {
        if let Some(i) = self.index(token) {
            self.slots[i].flags.set(Flag::END_REQUESTED, true);
            self.mark_dirty(i);
        }
    }

    /// Closes a connection now, whatever it is doing ([`Event::Closed`] follows for a
    /// WebSocket).
    pub fn destroy(&mut self, token: Token) {
        let Some(i) = self.index(token) else { return };
        let writing = self.slots[i].flags.is(Flag::WANT_WRITE);
        match &mut self.slots[i].phase {
            Phase::Open(conn) => {
                // Terminated first: a close owed for a violation is not sent. What was
                // queued is then handed to the kernel, as far as it takes it (ws writes
                // each frame when it is sent); the rest is dropped with the socket.
                conn.terminate();
                if !writing {
                    self.write_slot(i, 0);
                }
            }
            // The caller's own answer: as Node's socket.write() tries at once, what
            // it wrote before destroy() goes out as far as the kernel takes it.
            Phase::Rejecting(r) if r.raw && !writing => {
                self.write_slot(i, 0);
            }
            _ => {}
        }
        if self.index(token) != Some(i) {
            // The write failed: already closed.
            return;
        }
        let slot = &mut self.slots[i];
        if slot.flags.is(Flag::INFLATING) {
            // The message being inflated and what came after it were received
            // before: delivered when the job is back (as in `ws`), then closed.
            let _ = slot.stream.shutdown(Shutdown::Both);
            slot.flags.set(Flag::DESTROY_AFTER_JOB, true);
            slot.deadline = None;
            self.update_interest(i);
            return;
        }
        self.close_slot(i);
    }

    /// Addresses and byte counts of a connection.
    pub fn peer(&self, token: Token) -> Option<PeerInfo> {
        let slot = &self.slots[self.index(token)?];
        Some(PeerInfo {
            remote: slot.stream.peer_addr().ok(),
            local: slot.stream.local_addr().ok(),
            bytes_read: slot.bytes_read,
            bytes_written: slot.bytes_written,
        })
    }

    /// How many bytes the socket will have written once everything queued on it is
    /// written: a send's place in the output, to tell later whether it left (the
    /// `bytes_written` of [`Event::Closed`] reached it).
    pub fn write_end(&self, token: Token) -> Option<u64> {
        let slot = &self.slots[self.index(token)?];
        match &slot.phase {
            Phase::Open(conn) => Some(slot.bytes_written + conn.buffered() as u64),
            _ => None,
        }
    }

    /// `TCP_NODELAY` on or off.
    pub fn set_nodelay(&self, token: Token, on: bool) -> io::Result<()> {
        let i = self.index(token).ok_or(io::ErrorKind::NotConnected)?;
        self.slots[i].stream.set_nodelay(on)
    }

    /// `SO_KEEPALIVE`, with the idle time before the first probe when on.
    pub fn set_keepalive(&self, token: Token, on: bool, idle: Option<Duration>) -> io::Result<()> {
        let i = self.index(token).ok_or(io::ErrorKind::NotConnected)?;
        let sock = SockRef::from(&self.slots[i].stream);
        match (on, idle) {
            (true, Some(d)) if !d.is_zero() => {
                sock.set_tcp_keepalive(&TcpKeepalive::new().with_time(d))
            }
            _ => sock.set_keepalive(on),
        }
    }

    // ---- zlib work ---------------------------------------------------------------------

    /// Moves the zlib jobs the connections handed out since the last call into `out`
    /// (cleared first). Run each (any thread, [`Job::run`]) and hand it back with
    /// [`finish_job`](Self::finish_job); until then the connection's later sends (or its
    /// input) wait, in order. A caller with no thread to spare runs them right away.
    pub fn take_jobs(&mut self, out: &mut Vec<(Token, Job)>) {
        out.clear();
        std::mem::swap(out, &mut self.jobs);
    }

    /// Whether jobs wait to be taken.
    pub fn has_jobs(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// A job is done: the compressed message is framed with the sends that waited
    /// behind it, or the inflated one is delivered ([`Event::Message`], its payload
    /// owned) with the input that came after it, and reading resumes. A job of a
    /// connection that is gone is dropped. Call [`flush`](Self::flush) after.
    pub fn finish_job(&mut self, token: Token, job: Job, now: u64) {
        let Some(i) = self.index(token) else { return };
        let slot = &mut self.slots[i];
        let Phase::Open(conn) = &mut slot.phase else {
            return;
        };
        match job {
            Job::Deflate(job) => {
                conn.finish_deflate(job);
            }
            Job::Inflate(job) => {
                slot.flags.set(Flag::INFLATING, false);
                let events = &mut self.events;
                let result = conn.finish_inflate(job, |e| {
                    if let Some(e) = event_of(token, e, |b| Payload::Owned(b.to_vec())) {
                        events.push(e);
                    }
                });
                if let Err(e) = result {
                    events.push(Event::Error(token, e));
                }
                if slot.flags.is(Flag::DESTROY_AFTER_JOB) {
                    self.close_slot(i);
                    return;
                }
            }
        }
        self.mark_dirty(i);
        self.settle(i, now);
    }

    // ---- output ----------------------------------------------------------------------

    fn mark_dirty(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        if !slot.flags.is(Flag::DIRTY) {
            slot.flags.set(Flag::DIRTY, true);
            self.dirty.push(slot.token);
        }
    }

    /// Writes every connection that queued output since the last flush, one vectored
    /// write each, and applies what the core says the socket needs (end, destroy, the
    /// close timeout).
    pub fn flush(&mut self, now: u64) {
        let mut dirty = std::mem::take(&mut self.dirty);
        for &token in &dirty {
            let Some(i) = self.index(token) else { continue };
            self.slots[i].flags.set(Flag::DIRTY, false);
            if self.slots[i].flags.is(Flag::DESTROY_AFTER_JOB) {
                continue;
            }
            let destroy = matches!(&self.slots[i].phase, Phase::Open(c) if c.transport_action() == TransportAction::Destroy);
            if destroy {
                self.close_slot(i);
                continue;
            }
            if !self.slots[i].flags.is(Flag::WANT_WRITE) {
                self.write_slot(i, now);
            }
            if self.slots.contains(i) {
                self.settle(i, now);
            }
        }
        dirty.clear();
        if self.dirty.is_empty() {
            // Keep the allocation.
            self.dirty = dirty;
        }
    }

    fn write_slot(&mut self, i: usize, _now: u64) {
        let slot = &mut self.slots[i];
        if slot.flags.is(Flag::HELD) {
            return;
        }
        let result = match &mut slot.phase {
            Phase::Open(conn) => write_connection(&mut slot.stream, conn),
            Phase::Rejecting(r) => {
                match write_all_nonblocking(&mut slot.stream, &r.response[r.written..]) {
                    Ok(n) => {
                        r.written += n;
                        Ok((n, r.written < r.response.len()))
                    }
                    Err(e) => Err(e),
                }
            }
            Phase::Handshake(_) | Phase::Deciding(_) | Phase::Refused(_) => Ok((0, false)),
        };
        match result {
            Ok((n, refused)) => {
                slot.bytes_written += n as u64;
                slot.flags.set(Flag::WANT_WRITE, refused);
            }
            Err(_) => self.close_slot(i),
        }
    }

    /// After anything happened to a connection: end or close its socket as its phase
    /// and the core say, keep its deadline in the sweep and its interest current.
    fn settle(&mut self, i: usize, now: u64) {
        let slot = &mut self.slots[i];
        if slot.flags.is(Flag::DESTROY_AFTER_JOB) {
            // Waits for its inflation job (`finish_job` closes it).
            return;
        }
        match &mut slot.phase {
            Phase::Rejecting(r) => {
                // ws's abortHandshake: end, then destroy once written (a raw answer:
                // once the caller ended it).
                if r.written >= r.response.len() && r.keep_alive {
                    // Node's HTTP server reads the next request on the connection.
                    slot.phase =
                        Phase::Handshake(Box::new(Acceptor::new(self.config.acceptor.clone())));
                    let at = now.saturating_add(ferrosocket_core::ws::KEEP_ALIVE_TIMEOUT_MS);
                    slot.deadline = Some(at);
                    self.deadlines.push(at, slot.token);
                } else if r.written >= r.response.len()
                    && (!r.raw || slot.flags.is(Flag::END_REQUESTED))
                {
                    self.close_slot(i);
                    return;
                }
            }
            Phase::Open(conn) => {
                let action = conn.transport_action();
                if action == TransportAction::Destroy {
                    self.close_slot(i);
                    return;
                }
                // Calls waiting behind a compression job are not written yet.
                let written = !conn.has_output() && !conn.deferred();
                take_jobs(conn, slot.token, &mut slot.flags, &mut self.jobs);
                if written && slot.flags.is(Flag::NOTIFY_DRAIN) {
                    slot.flags.set(Flag::NOTIFY_DRAIN, false);
                    self.events.push(Event::Drained(slot.token));
                }
                if written
                    && !slot.flags.is(Flag::WRITE_SHUT)
                    && (action == TransportAction::End || slot.flags.is(Flag::END_REQUESTED))
                {
                    let _ = slot.stream.shutdown(Shutdown::Write);
                    slot.flags.set(Flag::WRITE_SHUT, true);
                }
                if slot.flags.is(Flag::WRITE_SHUT) && slot.flags.is(Flag::PEER_EOF) {
                    self.close_slot(i);
                    return;
                }
                // Heartbeat and idle deadlines count traffic from now (the core's clock).
                conn.note_traffic(now);
                if let Some(at) = conn.poll_deadline(now) {
                    // A deadline that moved later (traffic) keeps the earlier entry: when it
                    // comes the core is asked again, so busy connections push no entry
                    // per read.
                    if slot.deadline.map_or(true, |d| at < d) {
                        slot.deadline = Some(at);
                        self.deadlines.push(at, slot.token);
                    }
                }
            }
            Phase::Handshake(_) | Phase::Deciding(_) | Phase::Refused(_) => {}
        }
        self.update_interest(i);
    }

    fn update_interest(&mut self, i: usize) {
        let slot = &mut self.slots[i];
        let wanted = slot.wanted_interest();
        if wanted != slot.interest {
            let previous = std::mem::replace(&mut slot.interest, wanted);
            self.poller
                .update(slot.token, slot.stream.as_raw_fd(), previous, wanted);
        }
    }

    // ---- time ------------------------------------------------------------------------

    /// Runs the deadlines due at `now`: handshakes past their timeout get `408` and are
    /// closed, refusals not read in time are dropped, and the core's close timeout
    /// destroys connections whose close handshake did not finish.
    pub fn on_timeout(&mut self, now: u64) {
        let mut due = Vec::new();
        while let Some(token) = self.deadlines.pop_due(now) {
            due.push(token);
        }
        for token in due {
            let Some(i) = self.index(token) else { continue };
            let slot = &mut self.slots[i];
            if !slot.deadline.is_some_and(|at| at <= now) || slot.flags.is(Flag::DESTROY_AFTER_JOB)
            {
                continue;
            }
            slot.deadline = None;
            match &mut slot.phase {
                Phase::Handshake(acceptor) => {
                    // A connection kept alive after a 426 with no new request started
                    // is closed quietly (Node's keepAliveTimeout); otherwise Node's
                    // headersTimeout answer, best effort: the peer may not read.
                    if slot.bytes_read == 0 || acceptor.buffered_bytes() > 0 {
                        let r = HandshakeError::new(408, "Request Timeout").response();
                        let _ = write_all_nonblocking(&mut slot.stream, &r);
                    }
                    self.close_slot(i);
                }
                Phase::Rejecting(_) => self.close_slot(i),
                Phase::Open(conn) => {
                    conn.on_timeout(now);
                    // A heartbeat ping or an idle close may have been queued.
                    if conn.has_output() {
                        self.mark_dirty(i);
                    }
                    self.settle(i, now);
                }
                Phase::Deciding(_) | Phase::Refused(_) => {}
            }
        }
    }

    // ---- closing ---------------------------------------------------------------------

    fn close_slot(&mut self, i: usize) {
        let slot = self.slots.remove(i);
        self.poller
            .deregister(slot.token, slot.stream.as_raw_fd(), slot.interest);
        match slot.phase {
            Phase::Open(conn) => {
                let (code, reason) = conn.close_status();
                self.events.push(Event::Closed {
                    token: slot.token,
                    code,
                    reason: reason.to_string(),
                    clean: conn.was_clean(),
                    bytes_read: slot.bytes_read,
                    bytes_written: slot.bytes_written,
                });
            }
            Phase::Deciding(_) => self.events.push(Event::RequestAborted(slot.token)),
            Phase::Handshake(_) | Phase::Refused(_) | Phase::Rejecting(_) => {}
        }
        // Dropping the stream closes the descriptor, after the poller let go of it.
        drop(slot.stream);
    }

    /// Stops accepting: the listener is closed; open connections go on.
    pub fn close_listener(&mut self) {
        if let Some(listener) = self.listener.take() {
            self.poller
                .deregister(Token::LISTENER, listener.as_raw_fd(), Interest::READ);
            drop(listener);
        }
    }

    /// Closes the connections that are not WebSockets and wait for nothing from the
    /// application (requests still arriving, refusals being written): what a closing
    /// server drops. Returns how many.
    pub fn drop_handshakes(&mut self) -> usize {
        let keys: Vec<usize> = self
            .slots
            .iter()
            .filter(|(_, s)| matches!(s.phase, Phase::Handshake(_) | Phase::Rejecting(_)))
            .map(|(k, _)| k)
            .collect();
        for &i in &keys {
            self.close_slot(i);
        }
        keys.len()
    }

    /// Closes every connection now ([`Event::Closed`] for each WebSocket, 1006).
    pub fn destroy_all(&mut self) {
        let keys: Vec<usize> = self.slots.iter().map(|(k, _)| k).collect();
        for i in keys {
            if let Phase::Open(conn) = &mut self.slots[i].phase {
                conn.terminate();
            }
            self.close_slot(i);
        }
    }
}

impl<P: Poller> Drop for Server<P> {
    fn drop(&mut self) {
        // The poller lets go of every descriptor before it is closed.
        for (_, slot) in self.slots.iter() {
            self.poller
                .deregister(slot.token, slot.stream.as_raw_fd(), slot.interest);
        }
        if let Some(listener) = &self.listener {
            self.poller
                .deregister(Token::LISTENER, listener.as_raw_fd(), Interest::READ);
        }
    }
}

/// Feeds received bytes to the core. `data` lies in the read buffer, which starts at
/// address `base` (0: `data` is elsewhere) and whose first `limit` bytes are valid:
/// payloads inside become ranges of it; messages the core assembled come with their
/// buffer; the rest (control payloads) are copied. Returns whether a range was
/// handed out.
fn feed(
    conn: &mut Connection,
    token: Token,
    data: &mut [u8],
    base: usize,
    limit: usize,
    events: &mut Vec<Event>,
) -> bool {
    let in_batch = std::cell::Cell::new(false);
    // Addresses only: nothing is dereferenced through them.
    let payload = |part: &[u8]| -> Payload {
        let start = (part.as_ptr() as usize).wrapping_sub(base);
        if base != 0 && start <= limit && part.len() <= limit - start {
            in_batch.set(true);
            Payload::Read(start..start + part.len())
        } else {
            Payload::Owned(part.to_vec())
        }
    };
    // Every message the core assembled comes with its buffer: no copy of its own.
    let result = conn.feed_delivering(data, 0, |delivery| {
        push_delivery(events, token, delivery, payload)
    });
    if let Err(e) = result {
        events.push(Event::Error(token, e));
    }
    in_batch.get()
}

/// The transport's event for what the core delivered: a message the core assembled
/// comes with its buffer (no copy of its own); other payloads are placed by `payload`.
fn push_delivery(
    events: &mut Vec<Event>,
    token: Token,
    delivery: Delivery<'_>,
    payload: impl Fn(&[u8]) -> Payload,
) {
    match delivery {
        Delivery::Message(kind, data) => events.push(Event::Message {
            token,
            kind,
            data: Payload::Owned(data),
        }),
        Delivery::Event(event) => {
            if let Some(e) = event_of(token, event, payload) {
                events.push(e);
            }
        }
        // A delivery kind this transport does not know yet.
        _ => {}
    }
}

/// The transport's event for one of the core's, payloads placed by `payload`.
fn event_of(
    token: Token,
    event: CoreEvent<'_>,
    payload: impl Fn(&[u8]) -> Payload,
) -> Option<Event> {
    Some(match event {
        CoreEvent::Text(t) => Event::Message {
            token,
            kind: DataKind::Text,
            data: payload(t.as_bytes()),
        },
        CoreEvent::UncheckedText(t) => Event::Message {
            token,
            kind: DataKind::Text,
            data: payload(t),
        },
        CoreEvent::Binary(b) => Event::Message {
            token,
            kind: DataKind::Binary,
            data: payload(b),
        },
        CoreEvent::Ping(b) => Event::Ping(token, payload(b)),
        CoreEvent::Pong(b) => Event::Pong(token, payload(b)),
        CoreEvent::Close { .. } => Event::CloseFrame(token),
        CoreEvent::FrameEnds(ends) => Event::FrameEnds(token, ends.to_vec()),
        // An event kind this transport does not know yet.
        _ => return None,
    })
}

/// Takes the zlib work the connection hands out now (at most one job per direction
/// is out at a time: the core returns none while one is).
fn take_jobs(
    conn: &mut Connection,
    token: Token,
    flags: &mut crate::slot::Flags,
    jobs: &mut Vec<(Token, Job)>,
) {
    if !conn.deflate_enabled() {
        return;
    }
    if let Some(job) = conn.take_deflate_job() {
        jobs.push((token, Job::Deflate(job)));
    }
    if conn.inflate_ready() {
        if let Some(job) = conn.take_inflate_job() {
            flags.set(Flag::INFLATING, true);
            jobs.push((token, Job::Inflate(job)));
        }
    }
}

/// One vectored write of the connection's output. Returns the bytes written and
/// whether the kernel refused some (then wait for writability).
fn write_connection(stream: &mut impl Write, conn: &mut Connection) -> io::Result<(usize, bool)> {
    let mut total = 0;
    loop {
        let mut iov = [IoSlice::new(&[]); MAX_IOV];
        let n = conn.output_slices(&mut iov);
        if n == 0 {
            return Ok((total, false));
        }
        let want: usize = iov[..n].iter().map(|s| s.len()).sum();
        match stream.write_vectored(&iov[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(w) => {
                conn.consume_output(w);
                total += w;
                // A short write means the kernel buffer is full; more than MAX_IOV
                // segments is the only case where another write now makes sense.
                if w < want || n < MAX_IOV {
                    return Ok((total, conn.has_output()));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok((total, true)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One vectored write of `iov`, as much as the kernel takes now (0 when it takes
/// nothing).
fn write_vectored_nonblocking(stream: &mut impl Write, iov: &[IoSlice<'_>]) -> io::Result<usize> {
    loop {
        match stream.write_vectored(iov) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Writes as much of `bytes` as the kernel takes now.
fn write_all_nonblocking(stream: &mut impl Write, bytes: &[u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < bytes.len() {
        match stream.write(&bytes[done..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrosocket_core::{Config, Role};

    /// A socket that takes at most `room` bytes, counting the calls it gets.
    struct Kernel {
        room: usize,
        taken: Vec<u8>,
        calls: usize,
    }

    impl Write for Kernel {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            self.calls += 1;
            if self.room == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let mut n = 0;
            for b in bufs {
                let k = b.len().min(self.room);
                self.taken.extend_from_slice(&b[..k]);
                self.room -= k;
                n += k;
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn replies_queued_in_a_batch_leave_in_one_vectored_write() {
        let mut conn = Connection::new(Role::Server, Config::default());
        conn.send_frame(Bytes::from_static(b"HTTP/1.1 101 ...\r\n\r\n"))
            .unwrap();
        for m in ["a", "bb", "ccc"] {
            conn.send_text(m).unwrap();
        }
        let mut k = Kernel {
            room: usize::MAX,
            taken: Vec::new(),
            calls: 0,
        };
        assert_eq!(
            write_connection(&mut k, &mut conn).unwrap(),
            (k.taken.len(), false)
        );
        assert_eq!(k.calls, 1, "one writev for the whole batch");
        assert!(k.taken.ends_with(b"\x81\x01a\x81\x02bb\x81\x03ccc"));
        assert!(!conn.has_output());
    }

    #[test]
    fn what_the_kernel_refuses_stays_queued_for_writability() {
        let mut conn = Connection::new(Role::Server, Config::default());
        conn.send_binary(&[7; 1000]).unwrap();
        let mut k = Kernel {
            room: 300,
            taken: Vec::new(),
            calls: 0,
        };
        assert_eq!(write_connection(&mut k, &mut conn).unwrap(), (300, true));
        assert_eq!(conn.buffered(), 1004 - 300);
        // Writable again: the rest leaves, in order.
        k.room = usize::MAX;
        assert_eq!(write_connection(&mut k, &mut conn).unwrap(), (704, false));
        assert_eq!(k.taken.len(), 1004);
        assert_eq!(&k.taken[..4], &[0x82, 126, 0x03, 0xe8]);
        // A full buffer from the start: nothing written, wait.
        conn.send_text("x").unwrap();
        k.room = 0;
        assert_eq!(write_connection(&mut k, &mut conn).unwrap(), (0, true));
        assert!(conn.has_output());
    }

    #[test]
    fn payloads_in_the_read_buffer_are_ranges_others_are_copies() {
        let mut conn = Connection::new(Role::Server, Config::default());
        // A masked text frame "hi" (key 0) and a ping.
        let mut data = vec![
            0x81, 0x82, 0, 0, 0, 0, b'h', b'i', 0x89, 0x81, 0, 0, 0, 0, b'p',
        ];
        let (base, limit) = (data.as_ptr() as usize, data.len());
        let mut events = Vec::new();
        assert!(feed(
            &mut conn,
            Token(5),
            &mut data,
            base,
            limit,
            &mut events
        ));
        assert_eq!(
            events[0],
            Event::Message {
                token: Token(5),
                kind: DataKind::Text,
                data: Payload::Read(6..8)
            }
        );
        // Control payloads may be copied by the core; either way the bytes are right.
        match &events[1] {
            Event::Ping(Token(5), Payload::Read(r)) => assert_eq!(&data[r.clone()], b"p"),
            Event::Ping(Token(5), Payload::Owned(v)) => assert_eq!(v, b"p"),
            e => panic!("{e:?}"),
        }
        // Fed from elsewhere (base 0): copies.
        let mut more = vec![0x82, 0x81, 0, 0, 0, 0, 9];
        events.clear();
        assert!(!feed(&mut conn, Token(5), &mut more, 0, 0, &mut events));
        assert_eq!(
            events[0],
            Event::Message {
                token: Token(5),
                kind: DataKind::Binary,
                data: Payload::Owned(vec![9])
            }
        );
    }

    #[test]
    fn tokens_name_a_slot_and_its_generation() {
        let t = Token::new(0, 1);
        assert_ne!(t, Token::LISTENER);
        assert_eq!(t.slot(), Some(0));
        assert_eq!(Token::new(41, 7).slot(), Some(41));
        assert_ne!(Token::new(41, 7), Token::new(41, 8));
        assert_eq!(Token::LISTENER.slot(), None);
        assert!(Token::new(Token::MAX_SLOTS, u32::MAX).0 < 1 << 53);
    }
}
