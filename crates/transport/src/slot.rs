//! One entry of the connection table: the socket and where it is in its life.

use std::net::{SocketAddr, TcpStream};

use ferrosocket_core::handshake::{Acceptor, Incoming};

use ferrosocket_core::Connection;

use crate::{Interest, Token};

/// Where a connection is in its life.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Reading the upgrade request (bytes held by the acceptor only when the head
    /// arrived in pieces).
    Handshake(Acceptor),
    /// The request is complete and checked; the application decides. Not read.
    Deciding(Box<Incoming>),
    /// Writing an HTTP refusal, then closing.
    Rejecting { response: Vec<u8>, written: usize },
    /// A WebSocket.
    Open(Box<Connection>),
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) token: Token,
    pub(crate) stream: TcpStream,
    pub(crate) remote: SocketAddr,
    pub(crate) phase: Phase,
    /// What the poller was last told.
    pub(crate) interest: Interest,
    /// Listed for the next flush.
    pub(crate) dirty: bool,
    /// The kernel refused output: wait for writability.
    pub(crate) want_write: bool,
    /// The application paused reading.
    pub(crate) paused: bool,
    /// The application holds the output back (see [`Server::set_held`]).
    ///
    /// [`Server::set_held`]: crate::Server::set_held
    pub(crate) held: bool,
    /// Report [`Event::Drained`](crate::Event) once the queue is empty.
    pub(crate) notify_drain: bool,
    /// The application asked to end the write side once the output is written.
    pub(crate) end_requested: bool,
    /// Our write side was shut (TCP FIN sent).
    pub(crate) write_shut: bool,
    /// The peer ended its side (read returned 0).
    pub(crate) peer_eof: bool,
    /// The deadline last pushed to the sweep (handshake timeout or close timeout).
    pub(crate) deadline: Option<u64>,
    pub(crate) bytes_read: u64,
    pub(crate) bytes_written: u64,
}

impl Slot {
    pub(crate) fn new(token: Token, stream: TcpStream, remote: SocketAddr, phase: Phase) -> Self {
        Slot {
            token,
            stream,
            remote,
            phase,
            interest: Interest::READ,
            dirty: false,
            want_write: false,
            paused: false,
            held: false,
            notify_drain: false,
            end_requested: false,
            write_shut: false,
            peer_eof: false,
            deadline: None,
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// What the socket should wait for now.
    pub(crate) fn wanted_interest(&self) -> Interest {
        let read = match self.phase {
            Phase::Handshake(_) => true,
            Phase::Deciding(_) => false,
            // Read on after a refusal only to notice the peer closing.
            Phase::Rejecting { .. } => false,
            Phase::Open(_) => !self.paused && !self.peer_eof,
        };
        Interest {
            read,
            write: self.want_write,
        }
    }
}
