//! A poll(2) loop driving a transport server on its own thread, with an application
//! given as a closure; real 127.0.0.1 sockets.

// Each test file uses part of the harness.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ferrosocket_transport::{Event, Interest, Payload, Poller, Server, Token, TransportConfig};

#[derive(Default, Debug)]
pub struct PollSet {
    pub fds: HashMap<Token, (RawFd, Interest)>,
}

impl Poller for PollSet {
    fn register(&mut self, token: Token, fd: RawFd, interest: Interest) -> io::Result<()> {
        assert!(
            self.fds.insert(token, (fd, interest)).is_none(),
            "registered twice"
        );
        Ok(())
    }
    fn update(&mut self, token: Token, fd: RawFd, previous: Interest, interest: Interest) {
        let entry = self
            .fds
            .get_mut(&token)
            .expect("update of a registered socket");
        assert_eq!(entry.0, fd, "update names the registered descriptor");
        assert_eq!(entry.1, previous, "update names the interest it changes");
        entry.1 = interest;
    }
    fn deregister(&mut self, token: Token, fd: RawFd, interest: Interest) {
        let entry = self.fds.remove(&token).expect("deregistered twice");
        assert_eq!(entry.0, fd, "deregister names the registered descriptor");
        assert_eq!(entry.1, interest, "deregister names the interest");
    }
}

/// An event with its payload copied out of the read buffer.
#[derive(Debug, Clone)]
pub struct Seen {
    pub event: Event,
    pub bytes: Vec<u8>,
}

pub type App = Box<dyn FnMut(&mut Server<PollSet>, &Seen, u64) + Send>;

/// Work for the loop's thread (it owns the server): adoptions.
pub type Command = Box<dyn FnOnce(&mut Server<PollSet>, u64) + Send>;

pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    commands: mpsc::Sender<Command>,
    thread: Option<JoinHandle<Report>>,
}

/// What the loop saw, handed back when it stops.
#[derive(Debug)]
pub struct Report {
    pub events: Vec<Event>,
    pub open_at_end: usize,
    pub registered_at_end: usize,
}

pub fn start(config: TransportConfig, app: App) -> Running {
    run_loop(config, app, true)
}

/// A server with no listener: connections come through [`Running::command`].
pub fn start_detached(config: TransportConfig, app: App) -> Running {
    run_loop(config, app, false)
}

fn run_loop(config: TransportConfig, mut app: App, listen: bool) -> Running {
    let stop = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let (commands, command_rx) = mpsc::channel::<Command>();
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut server = if listen {
            let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
            Server::bind(addr, config, PollSet::default()).unwrap()
        } else {
            Server::detached(config, PollSet::default())
        };
        let unbound: SocketAddr = "0.0.0.0:0".parse().unwrap();
        tx.send(server.local_addr().unwrap_or(unbound)).unwrap();
        let epoch = Instant::now();
        let now = || epoch.elapsed().as_millis() as u64;
        let mut events = Vec::new();
        let mut log = Vec::new();
        // Once told to stop, the loop runs on until every connection is gone (the
        // peers' closes are processed), for at most 5 s.
        let mut stop_by: Option<Instant> = None;
        loop {
            while let Ok(command) = command_rx.try_recv() {
                command(&mut server, now());
                drain(&mut server, &mut app, &mut events, &mut log, now());
            }
            if flag.load(Ordering::Relaxed) {
                let by = *stop_by.get_or_insert_with(|| Instant::now() + Duration::from_secs(5));
                if server.is_empty() || Instant::now() >= by {
                    break;
                }
            }
            let tokens: Vec<(Token, RawFd, Interest)> = server
                .poller()
                .fds
                .iter()
                .map(|(t, (fd, i))| (*t, *fd, *i))
                .collect();
            let mut pfds: Vec<libc::pollfd> = tokens
                .iter()
                .map(|(_, fd, i)| libc::pollfd {
                    fd: *fd,
                    events: (if i.read { libc::POLLIN } else { 0 })
                        | (if i.write { libc::POLLOUT } else { 0 }),
                    revents: 0,
                })
                .collect();
            let wait = server
                .next_deadline()
                .map_or(10, |d| d.saturating_sub(now()).min(10) as i32);
            // SAFETY: `pfds` is a live, exclusively borrowed Vec of `pollfd` whose length
            // is passed with it; poll(2) writes only `revents` of those entries.
            let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, wait) };
            assert!(n >= 0, "poll: {}", io::Error::last_os_error());
            for (p, (token, _, _)) in pfds.iter().zip(&tokens) {
                if p.revents == 0 {
                    continue;
                }
                let readable = p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0;
                let writable = p.revents & libc::POLLOUT != 0;
                server.on_ready(*token, readable, writable, now());
                drain(&mut server, &mut app, &mut events, &mut log, now());
            }
            server.on_timeout(now());
            drain(&mut server, &mut app, &mut events, &mut log, now());
        }
        Report {
            events: log,
            open_at_end: server.len(),
            registered_at_end: server.poller().fds.len(),
        }
    });
    let addr = rx.recv().unwrap();
    Running {
        addr,
        stop,
        commands,
        thread: Some(thread),
    }
}

/// Hands the events of one call to the application (which may cause more: the bytes
/// that came with a request), then flushes once: corked writes.
fn drain(
    server: &mut Server<PollSet>,
    app: &mut App,
    events: &mut Vec<Event>,
    log: &mut Vec<Event>,
    now: u64,
) {
    loop {
        drain_once(server, app, events, log, now);
        if !server.has_jobs() {
            return;
        }
        // zlib jobs (permessage-deflate): run here, between two rounds of events, as
        // a caller with no thread to spare would.
        let mut jobs = Vec::new();
        server.take_jobs(&mut jobs);
        for (token, mut job) in jobs {
            job.run();
            server.finish_job(token, job, now);
        }
    }
}

fn drain_once(
    server: &mut Server<PollSet>,
    app: &mut App,
    events: &mut Vec<Event>,
    log: &mut Vec<Event>,
    now: u64,
) {
    while server.has_events() {
        server.take_events(events);
        let seen: Vec<Seen> = events
            .iter()
            .map(|e| {
                let bytes = match e {
                    Event::Message { data, .. } | Event::Ping(_, data) | Event::Pong(_, data) => {
                        match data {
                            Payload::Read(r) => server.batch_data()[r.clone()].to_vec(),
                            Payload::Owned(v) => v.clone(),
                        }
                    }
                    _ => Vec::new(),
                };
                Seen {
                    event: e.clone(),
                    bytes,
                }
            })
            .collect();
        for s in &seen {
            app(server, s, now);
        }
        log.append(events);
    }
    server.flush(now);
    // The flush may close sockets (Closed events): log them too.
    while server.has_events() {
        server.take_events(events);
        for e in events.iter() {
            app(
                server,
                &Seen {
                    event: e.clone(),
                    bytes: Vec::new(),
                },
                now,
            );
        }
        log.append(events);
        server.flush(now);
    }
}

impl Report {
    /// Whether an event matching `f` happened.
    pub fn saw(&self, f: impl Fn(&Event) -> bool) -> bool {
        self.events.iter().any(f)
    }
}

impl Running {
    /// Runs `f` on the loop's thread, between two polls.
    pub fn command(&self, f: impl FnOnce(&mut Server<PollSet>, u64) + Send + 'static) {
        self.commands.send(Box::new(f)).unwrap();
    }

    /// Stops once every connection is gone (at most 5 s): drop the clients first.
    pub fn stop(mut self) -> Report {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// A valid upgrade request head (RFC 6455 §1.3's sample key).
pub const UPGRADE_REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// The echo application with every upgrade accepted, `/reject` refused with 403.
pub fn echo() -> App {
    Box::new(|server, seen, now| match &seen.event {
        Event::Request(t) => {
            let path = server.request(*t).unwrap().path().to_string();
            if path == "/reject" {
                let e = ferrosocket_core::handshake::HandshakeError::new(403, "Forbidden");
                assert!(server.reject(*t, &e, now));
            } else if let Some(Err(e)) = server.negotiate_deflate(*t) {
                assert!(server.reject(*t, &e, now));
            } else {
                let protocol = server
                    .request(*t)
                    .unwrap()
                    .protocols()
                    .ok()
                    .and_then(|p| p.first().cloned());
                assert!(server.accept(*t, protocol.as_deref(), None, now).unwrap());
            }
        }
        Event::Message { token, kind, .. } => {
            let (kind, bytes) = (*kind, seen.bytes.clone());
            // `Server::send`: large echoes are written through, small ones corked.
            server
                .send(*token, kind, &bytes, Default::default(), |_, r| r.unwrap())
                .unwrap();
        }
        _ => {}
    })
}

/// Every upgrade accepted; `f` runs on each message's connection.
pub fn on_message(mut f: impl FnMut(&mut Server<PollSet>, Token) + Send + 'static) -> App {
    Box::new(move |server, seen, now| match &seen.event {
        Event::Request(t) => {
            server.accept(*t, None, None, now).unwrap();
        }
        Event::Message { token, .. } => f(server, *token),
        _ => {}
    })
}

/// Waits until `f` holds, up to `limit`.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    f()
}

/// Open descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}
