//! `NativeServer`: a `port`-mode WebSocket server whose sockets Rust reads and writes
//! on Node's libuv loop (`ferrosocket_transport::Server` + [`LoopPoller`]). JS is called
//! once per readiness with every event of it as one flat array (see `EV_*`), and asked
//! only for ws's decisions (routing, `verifyClient`, `handleProtocols`, `'headers'`).
//! Replies sent while JS handles a batch are written together once it returns.

use std::collections::VecDeque;
use std::ffi::c_void;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{FromRawFd, OwnedFd};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

use ferrosocket_core::handshake::HandshakeError;
use ferrosocket_core::{Config, Connection, DataKind, Role, SendOptions, State, UsageError};
use ferrosocket_transport::{Event, Job, Payload, Server, Token, TransportConfig};
use napi::bindgen_prelude::{BufferSlice, Either, Float64Array, ToNapiValue, Unknown};
use napi::{sys, Env, JsValue, Result};
use napi_derive::napi;

mod job_slots;
mod read_pool;
mod sends;

use super::poller::{LoopPoller, Ready};
use super::uv::{handle_memory, uv, Uv};
use super::work;
use crate::engine::{config as connection_config, send_answer, EngineOptions};
use crate::error::CoreError;
use crate::handshake::{deflate_config, DeflateHandle, DeflateOptions, HandshakeFailure};

/// Event kinds of a batch, each followed in the numbers by its numeric fields; its
/// other values (in brackets) are the next ones of the values array.
/// `REQUEST, id, version [url, headers[]]` — a checked upgrade request waits for JS.
const EV_REQUEST: u32 = 1;
/// `ABORTED, id` — a request's connection went away before JS answered.
const EV_ABORTED: u32 = 2;
/// `MESSAGE, id, binary, start, end` — payload = the batch Buffer's `[start, end)`.
const EV_MESSAGE: u32 = 3;
/// `MESSAGE_COPY, id, binary [buffer]` — payload assembled across reads.
const EV_MESSAGE_COPY: u32 = 4;
/// `PING, id [buffer]` | `PONG, id [buffer]`.
const EV_PING: u32 = 5;
const EV_PONG: u32 = 6;
/// `CLOSE_FRAME, id` — the peer's close frame (its code and reason come with CLOSED).
const EV_CLOSE_FRAME: u32 = 7;
/// `ERROR, id [err]` — a protocol violation (the close frame is queued).
const EV_ERROR: u32 = 8;
/// `REFUSED, id [url, headers[], message, method]` — an upgrade that failed the checks waits
/// for JS (`rejectRefused`, or `refuseRaw` for a 'wsClientError' listener).
const EV_REFUSED: u32 = 12;
/// `DRAINED, id` — everything queued was written (`notifyDrain`).
const EV_DRAINED: u32 = 9;
/// `CLOSED, id, code, bytesRead, bytesWritten, clean [reason]` — the socket is closed.
const EV_CLOSED: u32 = 10;
/// `FRAME_ENDS, id [offsets[]]` — the next message's frame boundaries ('fragments').
const EV_FRAME_ENDS: u32 = 11;

/// What `new NativeServer(...)` takes (JS has validated and defaulted it).
#[napi(object)]
pub struct NativeOptions {
    /// An IP address literal; absent = every address (IPv6 and IPv4, as Node).
    pub host: Option<String>,
    /// Absent: no listener; connections come from Node through `adopt`.
    pub port: Option<u32>,
    pub backlog: Option<i32>,
    /// Milliseconds for a request head to arrive (Node's `headersTimeout`).
    pub handshake_timeout: Option<f64>,
    /// Each connection's limits, as for `Engine`.
    pub connection: Option<EngineOptions>,
    /// ws `perMessageDeflate`, normalised (`deflate-options.js`); absent = off.
    pub per_message_deflate: Option<DeflateOptions>,
    /// ws `perMessageDeflate.concurrencyLimit`: zlib jobs of this server on libuv's
    /// pool at once (10 by default, as ws's limiter).
    pub deflate_concurrency: Option<u32>,
}

/// Which end an adopted connection is, and its own limits.
#[napi(object)]
pub struct AdoptOptions {
    /// The client's end (it masks what it sends).
    pub client: bool,
    /// Its limits when not the server's (a client's own options).
    pub connection: Option<EngineOptions>,
    /// What Node's socket read and wrote before (its `bytesRead`/`bytesWritten`).
    pub bytes_read: Option<f64>,
    pub bytes_written: Option<f64>,
}

/// A subscriber of `publishTo` that did not simply take the frame.
#[napi(object)]
pub struct PublishAnswer {
    /// Its place in the ids given.
    pub index: u32,
    /// Queued, and over the high-water mark or behind a compression job (`SEND_*`).
    pub status: Option<u32>,
    /// Refused (not open, the backpressure limit).
    pub error: Option<CoreError>,
}

/// Why listening failed, as Node names it (`EADDRINUSE`, ...).
#[napi(object)]
pub struct ListenFailure {
    pub code: String,
    pub message: String,
    pub syscall: String,
}

/// A socket's addresses and counters, as `net.Socket` reports them.
#[napi(object)]
pub struct PeerAddresses {
    pub remote_address: Option<String>,
    pub remote_port: Option<u32>,
    pub remote_family: Option<String>,
    pub local_address: Option<String>,
    pub local_port: Option<u32>,
    pub bytes_read: f64,
    pub bytes_written: f64,
}

/// The listener's address, as `server.address()` reports it.
#[napi(object)]
pub struct ListenAddress {
    pub address: String,
    pub family: String,
    pub port: u32,
}

/// A libuv handle of the server (its timer, its check) and whose it is.
struct HandleCtx {
    owner: *mut Inner,
    handle: Box<[u64]>,
}

impl HandleCtx {
    fn handle(ctx: *mut HandleCtx) -> *mut c_void {
        // SAFETY: callers pass a HandleCtx allocated by `new_handle`, live until its
        // close callback.
        unsafe { (*ctx).handle.as_mut_ptr().cast() }
    }
}

/// Payload bytes after which a readiness is delivered at once instead of at the end
/// of the loop turn (bounds the shared read buffer).
const BATCH_LIMIT: usize = 1024 * 1024;

/// Everything one native server owns. Reached from libuv callbacks through a raw
/// pointer; no reference to it is held across a call into JS (JS calls back in).
struct Inner {
    env: sys::napi_env,
    uv: &'static Uv,
    loop_: *mut c_void,
    server: Option<Server<LoopPoller>>,
    callback: sys::napi_ref,
    async_ctx: sys::napi_async_context,
    timer: *mut HandleCtx,
    armed: Option<u64>,
    /// Runs once per loop turn after the poll phase: every readiness of the turn is
    /// delivered in one JS call.
    check: *mut HandleCtx,
    check_started: bool,
    events: Vec<Event>,
    /// The numbers of the batch being built (reused).
    numbers: Vec<f64>,
    /// Read buffers handed to JS with a batch's payloads, once given back.
    read_pool: read_pool::ReadPool,
    /// Deliveries in progress (JS may call in and cause another).
    depth: u32,
    /// `destroy()` was called: free once no delivery is in progress.
    dead: bool,
    listen_error: Option<ListenFailure>,
    /// The limits of adopted connections that bring none of their own.
    adopted_config: Arc<Config>,
    /// What `sendFunctions()` are bound to (nulled when this is freed).
    cell: sends::ServerCell,
    /// zlib jobs taken from the transport and waiting for a place on the pool.
    waiting: VecDeque<(Token, Job)>,
    /// Scratch for `take_jobs`.
    taken: Vec<(Token, Job)>,
    /// Jobs on libuv's pool; the server's memory lives until they are all back.
    jobs_out: usize,
    job_limit: usize,
    /// Everything but this struct is released (`free`); it goes with the last job.
    freed: bool,
}

/// The most zlib jobs this thread's native servers and clients had on libuv's pool at
/// once so far: they share one limiter, sized by the first `concurrencyLimit`, as ws's
/// (a diagnostic, for tests).
#[napi]
pub fn native_jobs_peak() -> u32 {
    u32::try_from(job_slots::peak()).unwrap_or(u32::MAX)
}

/// A `port`-mode server on the native transport.
#[napi]
pub struct NativeServer {
    inner: *mut Inner,
}

fn status(s: sys::napi_status, what: &str) -> Result<()> {
    if s == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_reason(format!("{what} failed ({s})")))
    }
}

fn listen_failure(e: &std::io::Error, addr: SocketAddr) -> ListenFailure {
    let code = match e.kind() {
        std::io::ErrorKind::AddrInUse => "EADDRINUSE",
        std::io::ErrorKind::PermissionDenied => "EACCES",
        std::io::ErrorKind::AddrNotAvailable => "EADDRNOTAVAIL",
        _ => "EINVAL",
    };
    ListenFailure {
        code: code.to_string(),
        message: format!("listen {code}: {e} {}:{}", addr.ip(), addr.port()),
        syscall: "listen".to_string(),
    }
}

fn family(addr: &SocketAddr) -> &'static str {
    if addr.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn token(id: f64) -> Token {
    Token(if id.is_finite() && id > 0.0 {
        id as u64
    } else {
        0
    })
}

fn not_open() -> CoreError {
    CoreError::from(&UsageError::NotOpen)
}

#[napi]
impl NativeServer {
    /// Listens and registers with Node's loop; `callback(events, batch)` is called
    /// once per readiness. Listening errors are reported by `listenError` (JS emits
    /// them as ws does), not thrown.
    #[napi(constructor)]
    pub fn new(env: &Env, options: NativeOptions, callback: Unknown) -> Result<Self> {
        let uv = uv().map_err(napi::Error::from_reason)?;
        let raw = env.raw();
        let ip: Option<IpAddr> = match options.host.as_deref() {
            None => None,
            Some("localhost") => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Some(h) => Some(
                h.parse()
                    .map_err(|_| napi::Error::from_reason(format!("not an IP address: {h}")))?,
            ),
        };
        let mut loop_ = ptr::null_mut();
        let mut cb_ref = ptr::null_mut();
        let mut name = ptr::null_mut();
        let mut resource = ptr::null_mut();
        let mut async_ctx = ptr::null_mut();
        const NAME: &str = "ferrosocket:native";
        // SAFETY: N-API calls on the JS thread with this call's env; out-pointers are
        // live locals; `callback` is a value of this call's scope.
        unsafe {
            status(
                sys::napi_get_uv_event_loop(raw, &mut loop_),
                "napi_get_uv_event_loop",
            )?;
            status(
                sys::napi_create_reference(raw, callback.value().value, 1, &mut cb_ref),
                "napi_create_reference",
            )?;
            status(
                sys::napi_create_string_utf8(
                    raw,
                    NAME.as_ptr().cast(),
                    NAME.len() as isize,
                    &mut name,
                ),
                "napi_create_string_utf8",
            )?;
            status(
                sys::napi_create_object(raw, &mut resource),
                "napi_create_object",
            )?;
            status(
                sys::napi_async_init(raw, resource, name, &mut async_ctx),
                "napi_async_init",
            )?;
        }
        let defaults = TransportConfig::default();
        // The core's automatic pong stays off (as for `Engine`): JS answers pings while
        // it delivers them (`answerPing`), so a pong follows the replies to earlier
        // messages of the same read and an overridden `pong()` is called, as in ws.
        let connection = connection_config(&options.connection.unwrap_or_default());
        let config = TransportConfig {
            connection,
            handshake_timeout: options
                .handshake_timeout
                .filter(|t| t.is_finite() && *t > 0.0)
                .map_or(defaults.handshake_timeout, |t| t as u64),
            backlog: options.backlog.unwrap_or(defaults.backlog),
            deflate: options.per_message_deflate.as_ref().map(deflate_config),
            // JS answers a refused upgrade: ws's 'wsClientError' listeners, or the error.
            refused_to_caller: true,
            ..defaults
        };
        let inner = Box::into_raw(Box::new(Inner {
            env: raw,
            uv,
            loop_: loop_.cast(),
            server: None,
            callback: cb_ref,
            async_ctx,
            timer: ptr::null_mut(),
            armed: None,
            check: ptr::null_mut(),
            check_started: false,
            events: Vec::new(),
            numbers: Vec::new(),
            read_pool: read_pool::ReadPool::default(),
            depth: 0,
            dead: false,
            listen_error: None,
            adopted_config: Arc::new(config.connection.clone()),
            cell: Default::default(),
            waiting: VecDeque::new(),
            taken: Vec::new(),
            jobs_out: 0,
            job_limit: options
                .deflate_concurrency
                .map_or(10, |n| n.max(1) as usize),
            freed: false,
        }));
        let poller = move || LoopPoller::new(uv, loop_.cast(), inner.cast(), on_ready);
        // SAFETY: `inner` was just allocated and nothing else refers to it yet.
        let this = unsafe { &mut *inner };
        this.cell.set(inner);
        let Some(port) = options.port else {
            this.server = Some(Server::detached(config, poller()));
            return Ok(NativeServer::finish(env, inner));
        };
        let port = u16::try_from(port).unwrap_or(0);
        let first = SocketAddr::new(ip.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED)), port);
        let bound = Server::bind(first, config.clone(), poller()).or_else(|e| match ip {
            // No IPv6 on this host: every IPv4 address, as Node falls back.
            None if e.kind() != std::io::ErrorKind::AddrInUse => Server::bind(
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                config,
                poller(),
            ),
            _ => Err(e),
        });
        match bound {
            Ok(s) => this.server = Some(s),
            Err(e) => this.listen_error = Some(listen_failure(&e, first)),
        }
        Ok(NativeServer::finish(env, inner))
    }

    /// Gives a new server its timer and check handles and its cleanup hook.
    fn finish(env: &Env, inner: *mut Inner) -> NativeServer {
        // SAFETY: `inner` was just allocated by `new` and nothing else refers to it yet.
        let this = unsafe { &mut *inner };
        let (uv, loop_, raw) = (this.uv, this.loop_, env.raw());
        let new_handle = |size: usize| {
            Box::into_raw(Box::new(HandleCtx {
                owner: inner,
                handle: handle_memory(size),
            }))
        };
        let (timer, check) = (new_handle(uv.timer_size), new_handle(uv.check_size));
        // SAFETY: `timer` and `check` are live until their close callbacks; their
        // memory is uv_handle_size(UV_TIMER / UV_CHECK) bytes. Both are unref'd: only
        // sockets keep the process alive. The cleanup hook frees everything at env
        // teardown.
        unsafe {
            (uv.timer_init)(loop_.cast(), HandleCtx::handle(timer));
            (uv.check_init)(loop_.cast(), HandleCtx::handle(check));
            for h in [timer, check] {
                (uv.handle_set_data)(HandleCtx::handle(h), h.cast());
                (uv.unref)(HandleCtx::handle(h));
            }
            this.timer = timer;
            this.check = check;
            sys::napi_add_env_cleanup_hook(raw, Some(cleanup), inner.cast());
        }
        NativeServer { inner }
    }

    // `Inner` is not reached through `&self`: it is its own heap object, shared with
    // the libuv callbacks, and every use of it is short and on the JS thread.
    #[allow(clippy::mut_from_ref)]
    fn inner(&self) -> Option<&mut Inner> {
        // SAFETY: `inner` is null once freed; otherwise it is live, and napi methods
        // run on the JS thread while no other reference to it is held (deliveries
        // drop theirs before calling JS).
        unsafe { self.inner.as_mut() }.filter(|i| !i.dead)
    }

    #[allow(clippy::mut_from_ref)]
    fn server(&self) -> Option<&mut Server<LoopPoller>> {
        self.inner()?.server.as_mut()
    }

    fn now(&self) -> u64 {
        self.inner().map_or(0, |i| i.now())
    }

    /// Why listening failed, if it did.
    #[napi(getter)]
    pub fn listen_error(&mut self) -> Option<ListenFailure> {
        self.inner()?.listen_error.take()
    }

    /// The listening address (`null` once closed).
    #[napi]
    pub fn address(&self) -> Option<ListenAddress> {
        let a = self.server()?.local_addr()?;
        Some(ListenAddress {
            address: a.ip().to_string(),
            family: family(&a).to_string(),
            port: u32::from(a.port()),
        })
    }

    /// Open connections (handshakes included).
    #[napi(getter)]
    pub fn connections(&self) -> u32 {
        self.server().map_or(0, |s| s.len() as u32)
    }

    /// The subprotocols a waiting request offered, or the 400 for a malformed header.
    #[napi]
    pub fn protocols(&self, id: f64) -> Either<Vec<String>, HandshakeFailure> {
        match self.server().and_then(|s| s.request(token(id))) {
            None => Either::A(Vec::new()),
            Some(r) => match r.protocols() {
                Ok(p) => Either::A(p.to_vec()),
                Err(e) => Either::B(e.into()),
            },
        }
    }

    /// Answers a waiting request's permessage-deflate offer with the server's options
    /// (ws's rules, in the core): `true` agreed, `false` not (no offer, or deflate off),
    /// or the 400 ws answers a bad or unacceptable offer with. Called where ws
    /// negotiates: after the subprotocols, before `verifyClient`.
    #[napi]
    pub fn negotiate(&self, id: f64) -> Either<bool, HandshakeFailure> {
        match self.server().and_then(|s| s.negotiate_deflate(token(id))) {
            Some(Err(e)) => Either::B(e.into()),
            Some(Ok(agreed)) => Either::A(agreed),
            None => Either::A(false),
        }
    }

    /// The `101` that `accept(id, protocol)` would write (for `'headers'` listeners).
    #[napi]
    pub fn preview(&self, id: f64, protocol: Option<String>) -> Result<Option<String>> {
        let Some(s) = self.server() else {
            return Ok(None);
        };
        match s.preview_response(token(id), protocol.as_deref()) {
            None => Ok(None),
            Some(Ok(head)) => Ok(Some(String::from_utf8_lossy(&head).into_owned())),
            Some(Err(e)) => Err(napi::Error::from_reason(e.to_string())),
        }
    }

    /// Accepts a waiting request (`response`: the edited `101`). `false`: it is gone.
    /// Throws for a subprotocol that is not a token.
    #[napi]
    pub fn accept(
        &self,
        id: f64,
        protocol: Option<String>,
        response: Option<String>,
    ) -> Result<bool> {
        let now = self.now();
        let Some(s) = self.server() else {
            return Ok(false);
        };
        s.accept(
            token(id),
            protocol.as_deref(),
            response.map(String::into_bytes),
            now,
        )
        .map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    /// Takes over a TCP connection Node upgraded (its HTTP server's `'upgrade'`, or its
    /// HTTP client's): `fd` is the descriptor of Node's socket, duplicated here (Node
    /// then closes its own and the connection lives on in the duplicate); `leftover`
    /// the bytes Node read past the upgrade; `preface` what to write before any frame
    /// (a server's `101`); `deflate` the permessage-deflate agreed on, if any. The id
    /// of the new connection, or `null` when the socket is not an open TCP connection
    /// (the peer already left).
    #[napi]
    pub fn adopt(
        &self,
        fd: i32,
        leftover: Option<BufferSlice>,
        preface: Option<BufferSlice>,
        how: AdoptOptions,
        deflate: Option<&mut DeflateHandle>,
    ) -> Result<Option<f64>> {
        let now = self.now();
        let Some(inner) = self.inner() else {
            return Ok(None);
        };
        let AdoptOptions {
            client,
            connection,
            bytes_read,
            bytes_written,
        } = how;
        // Pings are answered from JS (ws's autoPong), as on accepted connections.
        let config = match connection {
            Some(options) => Arc::new(connection_config(&options)),
            None => Arc::clone(&inner.adopted_config),
        };
        // SAFETY: F_DUPFD_CLOEXEC reads no memory; an `fd` that is not open gives -1.
        let dup = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
        if dup < 0 {
            return Err(napi::Error::from_reason(format!(
                "cannot take over descriptor {fd}: {}",
                std::io::Error::last_os_error()
            )));
        }
        // SAFETY: `dup` is a descriptor this call just created; nothing else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(dup) };
        let stream = std::net::TcpStream::from(owned);
        let role = if client { Role::Client } else { Role::Server };
        // With permessage-deflate agreed (by Node's side of the handshake), the codec;
        // its zlib jobs are run as for accepted connections.
        let params = deflate.and_then(|d| d.take());
        let conn = Box::new(Connection::with_deflate(role, config, params));
        let Some(server) = inner.server.as_mut() else {
            return Ok(None);
        };
        let leftover = leftover.map(|b| b.to_vec()).unwrap_or_default();
        let preface = preface.map(|b| b.to_vec());
        // An error (the peer left, not a TCP socket) drops `stream`: the duplicate
        // is closed and Node's own descriptor is Node's to close.
        let Ok(t) = server.adopt(stream, conn, preface, leftover, now) else {
            return Ok(None);
        };
        let count = |n: Option<f64>| {
            n.filter(|n| n.is_finite() && *n > 0.0)
                .map_or(0, |n| n as u64)
        };
        server.count_earlier(t, count(bytes_read), count(bytes_written));
        Ok(Some(t.0 as f64))
    }

    /// Refuses a waiting request with an HTTP error (`headers` flat).
    #[napi]
    pub fn reject(&self, id: f64, status: u32, message: String, headers: Vec<String>) -> bool {
        let now = self.now();
        let Some(s) = self.server() else { return false };
        let mut err = HandshakeError::new(u16::try_from(status).unwrap_or(500), &message);
        for pair in headers.chunks_exact(2) {
            if let Ok(e) = err.clone().with_header(&pair[0], &pair[1]) {
                err = e;
            }
        }
        s.reject(token(id), &err, now)
    }

    /// Answers a refused upgrade (`REFUSED`) with its error's response.
    #[napi]
    pub fn reject_refused(&self, id: f64) -> bool {
        let now = self.now();
        let Some(s) = self.server() else { return false };
        let Some(error) = s.refused(token(id)).map(|(e, _)| e.clone()) else {
            return false;
        };
        s.reject(token(id), &error, now)
    }

    /// Leaves the answer to a waiting or refused request to `writeRaw` (the socket a
    /// 'wsClientError' listener gets); closed after `end`, at `destroyConnection`, or
    /// at the handshake timeout.
    #[napi]
    pub fn refuse_raw(&self, id: f64) -> bool {
        let now = self.now();
        self.server().is_some_and(|s| s.refuse_raw(token(id), now))
    }

    /// Queues bytes of a `refuseRaw` answer; false once it ended or closed.
    #[napi]
    pub fn write_raw(&self, id: f64, bytes: BufferSlice) -> bool {
        self.server()
            .is_some_and(|s| s.write_raw(token(id), &bytes))
    }

    /// `[sendBytes, sendText]`: the transport's send path, as plain functions bound to
    /// this server (`sends.rs`; a fraction of a napi-rs method's call cost). Each
    /// queues a message (or a fragment) with the `SEND_*` switches in one integer, and
    /// answers null, over the high-water mark, or an error object (as `Engine#send`).
    #[napi(
        ts_return_type = "[(id: number, data: Uint8Array, flags: number) => null | number | CoreError, (id: number, data: string, flags: number) => null | number | CoreError]"
    )]
    pub fn send_functions(&self, env: &Env) -> Result<Unknown<'_>> {
        let inner = self
            .inner()
            .ok_or_else(|| napi::Error::from_reason("destroyed"))?;
        // SAFETY: a napi method runs on the JS thread inside a handle scope.
        unsafe {
            let array = sends::make(env.raw(), &inner.cell)?;
            Ok(Unknown::from_raw_unchecked(env.raw(), array))
        }
    }

    /// Queues a ping (`pong` false) or a pong; an error object on misuse.
    #[napi]
    pub fn control(
        &self,
        id: f64,
        pong: bool,
        data: Either<String, BufferSlice>,
        mask: Option<bool>,
    ) -> Option<CoreError> {
        let bytes: &[u8] = match &data {
            Either::A(s) => s.as_bytes(),
            Either::B(b) => b,
        };
        // A client masks unless told not to (ws's `mask` argument).
        let mask = mask.unwrap_or(true);
        let r = self.server().and_then(|s| {
            s.with_connection(token(id), |c| {
                if pong {
                    c.pong_with(bytes, mask, None)
                } else {
                    c.ping_with(bytes, mask, None)
                }
            })
        });
        match r {
            Some(Ok(_)) => None,
            Some(Err(e)) => Some(CoreError::from(&e)),
            None => Some(not_open()),
        }
    }

    /// Starts the close handshake; validates code and reason as ws does.
    #[napi]
    pub fn close(&self, id: f64, code: Option<u32>, reason: Option<String>) -> Option<CoreError> {
        let code = code.map(|c| u16::try_from(c).unwrap_or(0));
        let r = self.server().and_then(|s| {
            s.with_connection(token(id), |c| {
                c.close(code, reason.as_deref().unwrap_or(""))
            })
        });
        match r {
            Some(Err(e)) => Some(CoreError::from(&e)),
            _ => None,
        }
    }

    /// 0 open (sends accepted), 1 closing, 2 closed or unknown.
    #[napi]
    pub fn state(&self, id: f64) -> u32 {
        match self.server().and_then(|s| s.connection(token(id))) {
            None => 2,
            Some(c) if c.can_send() => 0,
            Some(c) if c.state() == State::Closed => 2,
            Some(_) => 1,
        }
    }

    /// Bytes queued and not yet written, those waiting behind a compression job
    /// included (ws counts them in `bufferedAmount`).
    #[napi]
    pub fn buffered(&self, id: f64) -> f64 {
        self.server()
            .and_then(|s| s.connection(token(id)))
            .map_or(0.0, |c| (c.buffered() + c.deferred_bytes()) as f64)
    }

    /// Writes what the connection queued now (not at the end of the tick); then what
    /// `buffered` says. Events this causes are delivered with the next batch.
    #[napi]
    pub fn write_now(&self, id: f64) -> f64 {
        let now = self.now();
        if let Some(s) = self.server() {
            s.write_now(token(id), now);
        }
        self.buffered(id)
    }

    /// Report `DRAINED` once everything queued is written.
    #[napi]
    pub fn notify_drain(&self, id: f64) {
        if let Some(s) = self.server() {
            s.notify_drain(token(id));
        }
    }

    /// Stops or restarts reading a connection.
    #[napi]
    pub fn set_paused(&self, id: f64, paused: bool) {
        if let Some(s) = self.server() {
            s.set_paused(token(id), paused);
        }
    }

    /// Ends the write side once the output is written (`socket.end()`).
    #[napi]
    pub fn end(&self, id: f64) {
        if let Some(s) = self.server() {
            s.end(token(id));
        }
    }

    /// Closes a connection at once (`terminate()`, `socket.destroy()`).
    #[napi]
    pub fn destroy_connection(&self, id: f64) {
        if let Some(s) = self.server() {
            s.destroy(token(id));
        }
    }

    /// `socket.setNoDelay`.
    #[napi]
    pub fn set_no_delay(&self, id: f64, on: bool) -> bool {
        self.server()
            .is_some_and(|s| s.set_nodelay(token(id), on).is_ok())
    }

    /// `socket.setKeepAlive(enable, initialDelay)`.
    #[napi]
    pub fn set_keep_alive(&self, id: f64, on: bool, delay_ms: f64) -> bool {
        let idle = (delay_ms.is_finite() && delay_ms >= 1000.0)
            .then(|| Duration::from_millis(delay_ms as u64));
        self.server()
            .is_some_and(|s| s.set_keepalive(token(id), on, idle).is_ok())
    }

    /// Addresses and byte counts of a connection.
    #[napi]
    pub fn peer(&self, id: f64) -> Option<PeerAddresses> {
        let p = self.server()?.peer(token(id))?;
        Some(PeerAddresses {
            remote_address: p.remote.map(|a| a.ip().to_string()),
            remote_port: p.remote.map(|a| u32::from(a.port())),
            remote_family: p.remote.map(|a| family(&a).to_string()),
            local_address: p.local.map(|a| a.ip().to_string()),
            local_port: p.local.map(|a| u32::from(a.port())),
            bytes_read: p.bytes_read as f64,
            bytes_written: p.bytes_written as f64,
        })
    }

    /// Writes what was queued outside a batch (JS calls it once per tick) and
    /// delivers what that caused.
    #[napi]
    pub fn flush(&self) {
        if self.inner().is_some() {
            // SAFETY: live (checked just above); no reference to it is held here.
            unsafe { Inner::deliver(self.inner) };
        }
    }

    /// Stops accepting and drops the connections that are not WebSockets yet and
    /// wait for nothing from JS; open WebSockets go on (ws's `close()`).
    #[napi]
    pub fn close_listener(&self) {
        if let Some(s) = self.server() {
            s.close_listener();
            s.drop_handshakes();
        }
    }

    /// Closes everything and frees the server (after the events it causes).
    #[napi]
    pub fn destroy(&mut self) {
        let Some(inner) = self.inner() else { return };
        if let Some(s) = inner.server.as_mut() {
            s.close_listener();
            s.destroy_all();
        }
        // SAFETY: live; deliveries hold no reference across JS.
        unsafe {
            Inner::deliver(self.inner);
            Inner::kill(self.inner);
        }
        self.inner = ptr::null_mut();
    }
}

/// The calls through which JS answers pings and queues frames made elsewhere, as the
/// stream transport's `Engine` does (`answerPing`, `sendFrame`...).
#[napi]
impl NativeServer {
    /// Queues bytes that are whole frames already (ws `_sender.sendFrame`, frames of
    /// `Sender.frame()`, raw writes to `ws._socket`), in order with the other sends.
    /// Answers as `sendBytes`.
    #[napi]
    pub fn send_frame(&self, id: f64, frame: BufferSlice) -> Option<Either<u32, CoreError>> {
        match self.inner() {
            Some(inner) => queue_frame(inner, id, bytes::Bytes::copy_from_slice(&frame)),
            None => Some(Either::B(not_open())),
        }
    }

    /// Queues a published frame (ws's framing, made once by pubsub.js) on every
    /// subscriber of one publish on this server, in one call: the bytes are copied
    /// once and every queue holds them (a frame under 1 KiB is copied into each queue,
    /// where it joins the other small frames of the write). `null` when every one took
    /// it; otherwise the subscribers that answered otherwise, each as `sendFrame`
    /// answers (`status`: over the high-water mark / deferred; `error`: refused).
    #[napi]
    pub fn publish_to(&self, ids: Float64Array, frame: BufferSlice) -> Option<Vec<PublishAnswer>> {
        let bytes = bytes::Bytes::copy_from_slice(&frame);
        let mut inner = self.inner();
        let mut answers = Vec::new();
        for (index, &id) in ids.iter().enumerate() {
            let answer = match inner.as_deref_mut() {
                Some(inner) => queue_frame(inner, id, bytes.clone()),
                None => Some(Either::B(not_open())),
            };
            if let Some(answer) = answer {
                let (status, error) = match answer {
                    Either::A(status) => (Some(status), None),
                    Either::B(error) => (None, Some(error)),
                };
                answers.push(PublishAnswer {
                    index: index as u32,
                    status,
                    error,
                });
            }
        }
        (!answers.is_empty()).then_some(answers)
    }

    /// Answers a ping JS has just delivered (the core's automatic pong is off, so the
    /// pong follows the replies to the messages before it, as in ws). `false`: past
    /// `maxPendingAutoPongs`, the connection is to be destroyed.
    #[napi]
    pub fn answer_ping(&self, id: f64, data: BufferSlice) -> bool {
        self.server()
            .and_then(|s| s.with_connection(token(id), |c| c.answer_ping(&data)))
            .unwrap_or(true)
    }

    /// The automatic pong goes through an overridden `pong()`: counts it against the
    /// bound (`false` = over it: terminate); `autoPongWritten` once it was written.
    #[napi]
    pub fn begin_auto_pong(&self, id: f64) -> bool {
        self.server()
            .and_then(|s| s.with_connection(token(id), |c| c.begin_auto_pong()))
            .unwrap_or(true)
    }

    /// An automatic pong sent through `pong()` was written.
    #[napi]
    pub fn auto_pong_written(&self, id: f64) {
        if let Some(s) = self.server() {
            s.with_connection(token(id), |c| c.auto_pong_written());
        }
    }

    /// The socket's byte count once everything queued is written (a send callback's
    /// place: it succeeded if the connection closed past it, as a net.Socket write).
    #[napi]
    pub fn write_end(&self, id: f64) -> f64 {
        self.server()
            .and_then(|s| s.write_end(token(id)))
            .map_or(0.0, |n| n as f64)
    }

    /// Holds a connection's output back while JS delivers the events before a close
    /// frame or a violation one per macrotask (`allowSynchronousEvents: false`).
    #[napi]
    pub fn set_held(&self, id: f64, held: bool) {
        if let Some(s) = self.server() {
            s.set_held(token(id), held);
        }
    }
}

/// `flags` bits of `sendBytes`/`sendText`.
const SEND_BINARY: u32 = 1;
const SEND_FIN: u32 = 2;
const SEND_COMPRESS: u32 = 4;
/// A client's frame leaves unmasked (ws's `mask: false`).
const SEND_NO_MASK: u32 = 8;

/// Queues whole frames on a connection of `inner` (`sendFrame`, `publishTo`).
fn queue_frame(inner: &mut Inner, id: f64, frame: bytes::Bytes) -> Option<Either<u32, CoreError>> {
    match inner.server.as_mut().and_then(|s| {
        s.with_connection(token(id), |c| {
            let res = c.send_frame(frame);
            send_answer(c, res)
        })
    }) {
        Some(answer) => answer,
        None => Some(Either::B(not_open())),
    }
}

/// Queues a message on a connection of `inner` (`sendBytes`, `sendText`).
fn queue_on(
    inner: &mut Inner,
    id: f64,
    bytes: &[u8],
    flags: u32,
) -> Option<Either<u32, CoreError>> {
    let kind = if flags & SEND_BINARY != 0 {
        DataKind::Binary
    } else {
        DataKind::Text
    };
    let opts = SendOptions {
        fin: flags & SEND_FIN != 0,
        compress: flags & SEND_COMPRESS != 0,
        mask: flags & SEND_NO_MASK == 0,
        ..SendOptions::default()
    };
    match inner
        .server
        .as_mut()
        .and_then(|s| s.send(token(id), kind, bytes, opts, send_answer))
    {
        Some(answer) => answer,
        None => Some(Either::B(not_open())),
    }
}

impl Inner {
    fn now(&self) -> u64 {
        // SAFETY: Node's loop, on its thread.
        unsafe { (self.uv.now)(self.loop_) }
    }

    /// Calls JS with the pending events, flushes what it queued, and again while
    /// that caused more; then re-arms the deadline timer.
    ///
    /// # Safety
    /// `this` is live and no reference to it is held by the caller.
    unsafe fn deliver(this: *mut Inner) {
        // SAFETY: (the whole function) `this` is live per the contract; every `&mut`
        // made from it ends before JS is called, and JS frees it only through `kill`,
        // which waits for `depth` to reach 0.
        unsafe {
            (*this).depth += 1;
            loop {
                let pending = (*this).server.as_ref().is_some_and(|s| s.has_events());
                if pending {
                    Inner::call_js(this);
                }
                if (*this).dead {
                    break;
                }
                let now = (*this).now();
                let Some(s) = (*this).server.as_mut() else {
                    break;
                };
                s.flush(now);
                if !s.has_events() {
                    break;
                }
            }
            (*this).depth -= 1;
            if (*this).dead {
                if (*this).depth == 0 {
                    Inner::free(this, false);
                }
                return;
            }
            (*this).start_jobs();
            (*this).arm_timer();
        }
    }

    /// Builds the events array and the batch Buffer, then makes one JS call.
    unsafe fn call_js(this: *mut Inner) {
        // SAFETY: `this` is live (caller's contract); the handle scope bounds every
        // value made here; the `&mut` ends before napi_make_callback.
        unsafe {
            let env_raw = (*this).env;
            let mut scope = ptr::null_mut();
            if sys::napi_open_handle_scope(env_raw, &mut scope) != sys::Status::napi_ok {
                return;
            }
            let args = {
                let inner = &mut *this;
                let env = Env::from_raw(env_raw);
                build_args(&env, inner)
            };
            if let Ok(args) = args {
                let mut func = ptr::null_mut();
                let mut recv = ptr::null_mut();
                let mut result = ptr::null_mut();
                sys::napi_get_reference_value(env_raw, (*this).callback, &mut func);
                // MakeCallback's receiver must be an object.
                sys::napi_get_global(env_raw, &mut recv);
                let async_ctx = (*this).async_ctx;
                let s = sys::napi_make_callback(
                    env_raw,
                    async_ctx,
                    recv,
                    func,
                    args.len(),
                    args.as_ptr(),
                    &mut result,
                );
                if s == sys::Status::napi_pending_exception {
                    // A listener threw: Node's 'uncaughtException', as for a socket
                    // 'data' listener.
                    let mut err = ptr::null_mut();
                    sys::napi_get_and_clear_last_exception(env_raw, &mut err);
                    sys::napi_fatal_exception(env_raw, err);
                }
            }
            sys::napi_close_handle_scope(env_raw, scope);
        }
    }

    /// Sends the zlib jobs the transport handed out to libuv's pool while the thread's
    /// limiter has places (`job_limit` sizes it if this is its first use, as ws's
    /// `concurrencyLimit`); the others wait their turn in order.
    fn start_jobs(&mut self) {
        if let Some(s) = self.server.as_mut() {
            if s.has_jobs() {
                s.take_jobs(&mut self.taken);
                self.waiting.extend(self.taken.drain(..));
            }
        }
        let owner = (self as *mut Inner).cast::<c_void>();
        while !self.waiting.is_empty() {
            if !job_slots::acquire(self.job_limit) {
                // Every place of the thread's limiter is taken: woken when one is back.
                job_slots::wait(owner);
                break;
            }
            let Some((token, job)) = self.waiting.pop_front() else {
                job_slots::release();
                break;
            };
            // SAFETY: the loop is Node's, running; `self` stays allocated until its
            // last job is back (`jobs_out`, `freed`).
            match unsafe { work::queue(self.uv, self.loop_, owner, token, job, on_job_done) } {
                Ok(()) => self.jobs_out += 1,
                Err(mut job) => {
                    // The pool refused it: inline, so nothing waits forever.
                    job_slots::release();
                    job.run();
                    let now = self.now();
                    if let Some(s) = self.server.as_mut() {
                        s.finish_job(token, job, now);
                    }
                }
            }
        }
    }

    fn arm_timer(&mut self) {
        let now = self.now();
        let next = self.server.as_ref().and_then(|s| s.next_deadline());
        if next == self.armed {
            return;
        }
        self.armed = next;
        // SAFETY: the timer handle was initialised in `new` and lives until `free`.
        unsafe {
            let h = (*self.timer).handle.as_mut_ptr().cast::<c_void>();
            match next {
                Some(at) => {
                    (self.uv.timer_start)(h, on_timer, at.saturating_sub(now), 0);
                }
                None => {
                    (self.uv.timer_stop)(h);
                }
            }
        }
    }

    /// Marks the server dead; frees it now unless a delivery is in progress.
    unsafe fn kill(this: *mut Inner) {
        // SAFETY: live per the caller.
        unsafe {
            (*this).dead = true;
            if (*this).depth == 0 {
                Inner::free(this, false);
            }
        }
    }

    /// Closes every handle and frees the server.
    unsafe fn free(this: *mut Inner, in_cleanup: bool) {
        // SAFETY: live, and nothing uses it after this (JS's pointer is nulled by
        // `destroy`; the cleanup hook is removed unless it is the one running).
        unsafe {
            let inner = &mut *this;
            inner.cell.set(ptr::null_mut());
            let env = inner.env;
            // Dropping the server deregisters (uv_close) every socket first.
            drop(inner.server.take());
            inner.waiting.clear();
            job_slots::forget(this.cast());
            for h in [inner.timer, inner.check] {
                (inner.uv.close)(HandleCtx::handle(h), Some(on_handle_closed));
            }
            sys::napi_delete_reference(env, inner.callback);
            sys::napi_async_destroy(env, inner.async_ctx);
            if !in_cleanup {
                sys::napi_remove_env_cleanup_hook(env, Some(cleanup), this.cast());
            }
            inner.dead = true;
            if inner.jobs_out == 0 {
                drop(Box::from_raw(this));
            } else {
                // Jobs on the pool hold its address: the last one back frees it.
                inner.freed = true;
            }
        }
    }
}

/// The batch as JS reads it: the events' numbers in one `Float64Array` (kind, id, then
/// the kind's numeric fields, see `EV_*`), their other values (strings, Buffers, error
/// objects) in order in one array, and the one Buffer holding the payloads that lay in
/// the read buffer. A message costs no N-API call of its own.
fn build_args(env: &Env, inner: &mut Inner) -> Result<[sys::napi_value; 3]> {
    let Some(server) = inner.server.as_mut() else {
        return Err(napi::Error::from_reason("closed"));
    };
    server.take_events(&mut inner.events);
    for e in &mut inner.events {
        // Control payloads (≤ 125 bytes) are copied each: only messages are views.
        if let Event::Ping(_, p) | Event::Pong(_, p) = e {
            if let Payload::Read(r) = p {
                *p = Payload::Owned(server.batch_data()[r.clone()].to_vec());
            }
        }
    }
    let (lo, hi) = inner
        .events
        .iter()
        .fold((usize::MAX, 0), |(lo, hi), e| match e {
            Event::Message {
                data: Payload::Read(r),
                ..
            } => (lo.min(r.start), hi.max(r.end)),
            _ => (lo, hi),
        });
    let raw = env.raw();
    let to_js = |v: sys::napi_value| -> Unknown<'_> {
        // SAFETY: `v` is a value of the current handle scope.
        unsafe { Unknown::from_raw_unchecked(raw, v) }
    };
    // SAFETY: (each to_napi_value below) values created in the current handle scope.
    let batch = unsafe {
        if hi >= lo + read_pool::HAND_OVER_MIN {
            // The read buffer itself: every message of the batch is a view of the
            // bytes where they were read. The transport reads on into another.
            let read = server.swap_batch(inner.read_pool.take());
            let b = inner.read_pool.hand_over(env, read, lo..hi)?;
            ToNapiValue::to_napi_value(raw, b)?
        } else if hi > lo {
            // One copy per batch: every message of it is a view of this Buffer.
            let data = &server.batch_data()[lo..hi];
            ToNapiValue::to_napi_value(raw, BufferSlice::copy_from(env, data)?)?
        } else {
            ToNapiValue::to_napi_value(raw, ())?
        }
    };
    let nums = &mut inner.numbers;
    nums.clear();
    let mut vals = env.create_array(0)?;
    let mut vi = 0u32;
    let mut value = |vals: &mut napi::bindgen_prelude::Array, v: sys::napi_value| -> Result<()> {
        vals.set(vi, to_js(v))?;
        vi += 1;
        Ok(())
    };
    let kind = |k: u32| f64::from(k);
    for e in inner.events.drain(..) {
        // SAFETY: (each to_napi_value) values created in the current handle scope.
        unsafe {
            match e {
                Event::Request(t) => {
                    let Some(req) = server.request(t) else {
                        continue;
                    };
                    let headers: Vec<String> = req
                        .headers()
                        .flat_map(|(k, v)| [k.to_string(), String::from_utf8_lossy(v).into_owned()])
                        .collect();
                    nums.extend([kind(EV_REQUEST), t.0 as f64, f64::from(req.version())]);
                    value(
                        &mut vals,
                        ToNapiValue::to_napi_value(raw, req.path().to_string())?,
                    )?;
                    value(&mut vals, ToNapiValue::to_napi_value(raw, headers)?)?;
                }
                Event::RequestAborted(t) => nums.extend([kind(EV_ABORTED), t.0 as f64]),
                Event::Refused(t) => {
                    let Some((error, req)) = server.refused(t) else {
                        continue;
                    };
                    let headers: Vec<String> = req
                        .headers()
                        .flat_map(|(k, v)| [k.to_string(), String::from_utf8_lossy(v).into_owned()])
                        .collect();
                    nums.extend([kind(EV_REFUSED), t.0 as f64]);
                    value(
                        &mut vals,
                        ToNapiValue::to_napi_value(raw, req.path().to_string())?,
                    )?;
                    value(&mut vals, ToNapiValue::to_napi_value(raw, headers)?)?;
                    value(
                        &mut vals,
                        ToNapiValue::to_napi_value(raw, error.message.clone())?,
                    )?;
                    value(
                        &mut vals,
                        ToNapiValue::to_napi_value(raw, req.method().to_string())?,
                    )?;
                }
                Event::Message {
                    token,
                    kind: k,
                    data,
                } => {
                    let binary = if k == DataKind::Binary { 1.0 } else { 0.0 };
                    match data {
                        Payload::Read(r) => nums.extend([
                            kind(EV_MESSAGE),
                            token.0 as f64,
                            binary,
                            (r.start - lo) as f64,
                            (r.end - lo) as f64,
                        ]),
                        Payload::Owned(v) => {
                            nums.extend([kind(EV_MESSAGE_COPY), token.0 as f64, binary]);
                            let b = read_pool::hand_over_message(env, v)?;
                            value(&mut vals, ToNapiValue::to_napi_value(raw, b)?)?;
                        }
                    }
                }
                Event::Ping(t, ref p) | Event::Pong(t, ref p) => {
                    let k = if matches!(e, Event::Ping(..)) {
                        EV_PING
                    } else {
                        EV_PONG
                    };
                    let bytes = match p {
                        Payload::Owned(v) => v.as_slice(),
                        Payload::Read(_) => unreachable!("copied above"),
                    };
                    nums.extend([kind(k), t.0 as f64]);
                    let b = BufferSlice::copy_from(env, bytes)?;
                    value(&mut vals, ToNapiValue::to_napi_value(raw, b)?)?;
                }
                Event::CloseFrame(t) => nums.extend([kind(EV_CLOSE_FRAME), t.0 as f64]),
                Event::FrameEnds(t, ref ends) => {
                    nums.extend([kind(EV_FRAME_ENDS), t.0 as f64]);
                    let offsets: Vec<f64> = ends.iter().map(|&e| e as f64).collect();
                    value(&mut vals, ToNapiValue::to_napi_value(raw, offsets)?)?;
                }
                Event::Error(t, err) => {
                    nums.extend([kind(EV_ERROR), t.0 as f64]);
                    value(
                        &mut vals,
                        ToNapiValue::to_napi_value(raw, CoreError::from(&err))?,
                    )?;
                }
                Event::Drained(t) => nums.extend([kind(EV_DRAINED), t.0 as f64]),
                Event::Closed {
                    token,
                    code,
                    reason,
                    clean,
                    bytes_read,
                    bytes_written,
                } => {
                    nums.extend([
                        kind(EV_CLOSED),
                        token.0 as f64,
                        f64::from(code),
                        bytes_read as f64,
                        bytes_written as f64,
                        f64::from(u8::from(clean)),
                    ]);
                    let b = BufferSlice::copy_from(env, reason.as_bytes())?;
                    value(&mut vals, ToNapiValue::to_napi_value(raw, b)?)?;
                }
                _ => {}
            }
        }
    }
    let numbers = float64_array(raw, nums)?;
    Ok([numbers, vals.value().value, batch])
}

/// A new `Float64Array` holding `nums` (one ArrayBuffer, one copy).
fn float64_array(env: sys::napi_env, nums: &[f64]) -> Result<sys::napi_value> {
    let bytes = std::mem::size_of_val(nums);
    let mut data: *mut c_void = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    let mut array = ptr::null_mut();
    // SAFETY: N-API calls on the JS thread inside the caller's handle scope. The
    // ArrayBuffer's `bytes` bytes at `data` are ours to fill until it is handed to JS;
    // `nums` and the buffer do not overlap, and f64 has no invalid bit patterns.
    unsafe {
        status(
            sys::napi_create_arraybuffer(env, bytes, &mut data, &mut buffer),
            "napi_create_arraybuffer",
        )?;
        if bytes > 0 {
            ptr::copy_nonoverlapping(nums.as_ptr().cast::<u8>(), data.cast::<u8>(), bytes);
        }
        status(
            sys::napi_create_typedarray(
                env,
                sys::TypedarrayType::float64_array,
                nums.len(),
                buffer,
                0,
                &mut array,
            ),
            "napi_create_typedarray",
        )?;
    }
    Ok(array)
}

/// Sockets of some server are ready (the poller's callback).
unsafe fn on_ready(owner: *mut c_void, readies: &[Ready]) {
    let this = owner.cast::<Inner>();
    // SAFETY: the owner of registered sockets is live (it drops its poller before it
    // is freed); each `&mut` ends before `deliver` calls JS. JS frees it only through
    // `kill`, which waits for `depth` to reach 0: held here, so that a server closed
    // by JS while these readinesses are handled is freed after the last, not during.
    unsafe {
        if (*this).dead {
            return;
        }
        (*this).depth += 1;
        for ready in readies {
            if (*this).dead {
                break;
            }
            let now = (*this).now();
            let Some(s) = (*this).server.as_mut() else {
                break;
            };
            s.on_ready(ready.token, ready.readable, ready.writable, now);
            if s.batch_len() >= BATCH_LIMIT {
                Inner::deliver(this);
            } else if !(*this).check_started {
                // The rest of this turn's readinesses join the batch; the check handle
                // delivers it right after the poll phase.
                (*this).check_started = true;
                let uv = (*this).uv;
                (uv.check_start)(HandleCtx::handle((*this).check), on_check);
            }
        }
        (*this).depth -= 1;
        if (*this).dead && (*this).depth == 0 {
            Inner::free(this, false);
        }
    }
}

/// End of the loop turn's poll phase: deliver what its readinesses collected.
unsafe extern "C" fn on_check(handle: *mut c_void) {
    let Ok(uv) = uv() else { return };
    // SAFETY: the check's data is its HandleCtx, whose owner is live while the check
    // is (it is closed in `free`).
    unsafe {
        (uv.check_stop)(handle);
        let this = (*(uv.handle_get_data)(handle).cast::<HandleCtx>()).owner;
        (*this).check_started = false;
        if !(*this).dead {
            Inner::deliver(this);
        }
    }
}

/// The deadline timer fired.
unsafe extern "C" fn on_timer(handle: *mut c_void) {
    let Ok(uv) = uv() else { return };
    // SAFETY: the timer's data is its HandleCtx, whose owner is live while the timer
    // is (it is closed in `free`).
    unsafe {
        let ctx = (uv.handle_get_data)(handle).cast::<HandleCtx>();
        let this = (*ctx).owner;
        if (*this).dead {
            return;
        }
        (*this).armed = None;
        let now = (*this).now();
        if let Some(s) = (*this).server.as_mut() {
            s.on_timeout(now);
        }
        Inner::deliver(this);
    }
}

/// A zlib job is back from libuv's pool (on the loop thread).
unsafe fn on_job_done(owner: *mut c_void, token: Token, job: Job) {
    let this = owner.cast::<Inner>();
    // SAFETY: an Inner with jobs out stays allocated (`free` leaves it to the last
    // job); no other reference to it is held while libuv runs this callback.
    unsafe {
        (*this).jobs_out -= 1;
        job_slots::release();
        wake_waiting_servers(this);
        if (*this).freed {
            if (*this).jobs_out == 0 {
                drop(Box::from_raw(this));
            }
            return;
        }
        if (*this).dead {
            return;
        }
        let now = (*this).now();
        if let Some(s) = (*this).server.as_mut() {
            s.finish_job(token, job, now);
        }
        // Delivers what the job caused (the inflated message, a drain) and sends
        // the next jobs.
        Inner::deliver(this);
    }
}

/// A place of the thread's job limiter is free: the servers waiting for one send their
/// next jobs, in turn, while places last (`this`, whose job is back, sends its own
/// after handling it).
///
/// # Safety
/// On the loop thread, from a libuv callback: no delivery of any server is running.
unsafe fn wake_waiting_servers(this: *mut Inner) {
    while let Some(next) = job_slots::next_woken() {
        let next = next.cast::<Inner>();
        if next == this {
            // It sends its jobs when its own delivery ends (it queues itself again
            // if the others took every place meanwhile).
            continue;
        }
        // SAFETY: a server in the waiters is live: `free` forgets it first.
        unsafe { Inner::deliver(next) };
    }
}

unsafe extern "C" fn on_handle_closed(handle: *mut c_void) {
    let Ok(uv) = uv() else { return };
    // SAFETY: the data of the timer and the check is the HandleCtx allocated in `new`;
    // libuv is done with the handle once its close callback runs.
    drop(unsafe { Box::from_raw((uv.handle_get_data)(handle).cast::<HandleCtx>()) });
}

/// The JS environment is going away (process exit, worker termination).
unsafe extern "C" fn cleanup(arg: *mut c_void) {
    let this = arg.cast::<Inner>();
    // SAFETY: registered with a live Inner and removed when it is freed otherwise.
    unsafe {
        if (*this).depth == 0 {
            Inner::free(this, true);
        } else {
            (*this).dead = true;
        }
    }
}
