//! "Transport B": Rust owns the sockets of a `port`-mode server, on Node's own libuv
//! loop. `crates/transport` does the socket work (accept, reads into one shared
//! buffer, the upgrade, the core, corked writes, deadlines); this module plugs it into
//! libuv ([`poller`]: on Linux one epoll set per transport in one `uv_poll_t`, a
//! `uv_poll_t` per socket elsewhere; one `uv_timer_t` for every deadline)
//! and into JS ([`server::NativeServer`]: one JS call per readiness with all of its
//! events). No second thread of ours: permessage-deflate's large messages are
//! (de)compressed on libuv's thread pool ([`work`]).

#[cfg(target_os = "linux")]
pub mod epoll;
pub mod poller;
pub mod server;
pub mod uv;
pub(crate) mod work;
