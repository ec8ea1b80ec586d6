//! zlib work the core hands out (permessage-deflate, RFC 7692): a large message to
//! compress or a large received one to inflate, as a [`Job`] the caller may run on
//! any thread ([`Server::take_jobs`](crate::Server::take_jobs)) and hands back
//! ([`Server::finish_job`](crate::Server::finish_job)). The core keeps the order:
//! later sends wait behind a compression job, later input behind an inflation job
//! (`ferrosocket_core` `deferred.rs`). Which messages become jobs is the connection
//! config's `offload_deflate_min` / `offload_inflate_min`.

use ferrosocket_core::{DeflateJob, InflateJob};

/// One piece of zlib work of one connection.
#[derive(Debug)]
pub enum Job {
    /// A message to compress; sends after it wait.
    Deflate(DeflateJob),
    /// A received message to inflate; the connection is not read meanwhile.
    Inflate(InflateJob),
}

impl Job {
    /// Does the zlib work. Runs on any thread; call it once.
    pub fn run(&mut self) {
        match self {
            Job::Deflate(j) => j.run(),
            Job::Inflate(j) => j.run(),
        }
    }
}
