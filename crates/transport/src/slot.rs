//! One entry of the connection table: the socket and where it is in its life. An idle
//! open connection keeps 64 bytes here (its addresses are asked of the socket when
//! wanted, every variant of its phase is one pointer) and its boxed core connection.

use std::net::TcpStream;

use ferrosocket_core::handshake::{Acceptor, HandshakeError, Incoming, RequestHead};

use ferrosocket_core::Connection;

use crate::{Interest, Token};

/// Where a connection is in its life. Each variant is boxed: the phase is one tag and
/// one pointer whichever it is.
#[derive(Debug)]
pub(crate) enum Phase {
    /// Reading the upgrade request (bytes held by the acceptor only when the head
    /// arrived in pieces).
    Handshake(Box<Acceptor>),
    /// The request is complete and checked; the application decides. Not read.
    Deciding(Box<Incoming>),
    /// A request that failed the checks waits for the caller (`refused_to_caller`):
    /// its own answer, or the error's. Not read.
    Refused(Box<(HandshakeError, RequestHead)>),
    /// Writing an HTTP refusal, then closing.
    Rejecting(Box<Refusal>),
    /// A WebSocket.
    Open(Box<Connection>),
}

/// An HTTP refusal being written.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) response: Vec<u8>,
    pub(crate) written: usize,
    /// The caller writes the bytes itself (`Server::refuse_raw`): the socket closes
    /// once they are written and it asked for the end (`Server::end`), or at its
    /// `destroy`.
    pub(crate) raw: bool,
    /// A plain request's 426 that keeps the connection (`HandshakeError::keeps_alive`):
    /// once written, the connection reads the next request.
    pub(crate) keep_alive: bool,
}

/// A slot's switches, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(u16);

impl Flag {
    /// Listed for the next flush.
    pub(crate) const DIRTY: Flag = Flag(1);
    /// The kernel refused output: wait for writability.
    pub(crate) const WANT_WRITE: Flag = Flag(1 << 1);
    /// The application paused reading.
    pub(crate) const PAUSED: Flag = Flag(1 << 2);
    /// Report [`Event::Drained`](crate::Event) once the queue is empty.
    pub(crate) const NOTIFY_DRAIN: Flag = Flag(1 << 3);
    /// The application asked to end the write side once the output is written.
    pub(crate) const END_REQUESTED: Flag = Flag(1 << 4);
    /// Our write side was shut (TCP FIN sent).
    pub(crate) const WRITE_SHUT: Flag = Flag(1 << 5);
    /// The peer ended its side (read returned 0).
    pub(crate) const PEER_EOF: Flag = Flag(1 << 6);
    /// A received message is out for inflating: not read meanwhile (the core keeps
    /// what follows it; `ws` pauses its socket the same way).
    pub(crate) const INFLATING: Flag = Flag(1 << 7);
    /// Destroyed while inflating: the socket is shut and left alone, and the slot is
    /// closed once the job is back and its message delivered (as `ws` delivers what
    /// was received before `terminate()`).
    pub(crate) const DESTROY_AFTER_JOB: Flag = Flag(1 << 8);
    /// The application holds the output back (see [`Server::set_held`]).
    ///
    /// [`Server::set_held`]: crate::Server::set_held
    pub(crate) const HELD: Flag = Flag(1 << 9);
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) token: Token,
    pub(crate) phase: Phase,
    /// The deadline last pushed to the sweep (handshake timeout or close timeout).
    pub(crate) deadline: Option<u64>,
    pub(crate) bytes_read: u64,
    pub(crate) bytes_written: u64,
    pub(crate) stream: TcpStream,
    /// What the poller was last told.
    pub(crate) interest: Interest,
    pub(crate) flags: Flags,
}

/// The [`Flag`]s of a slot that are on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flags(u16);

impl Flags {
    pub(crate) fn is(self, flag: Flag) -> bool {
        self.0 & flag.0 != 0
    }

    pub(crate) fn set(&mut self, flag: Flag, on: bool) {
        if on {
            self.0 |= flag.0;
        } else {
            self.0 &= !flag.0;
        }
    }
}

impl Slot {
    pub(crate) fn new(token: Token, stream: TcpStream, phase: Phase) -> Self {
        Slot {
            token,
            stream,
            phase,
            interest: Interest::READ,
            flags: Flags::default(),
            deadline: None,
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// What the socket should wait for now.
    pub(crate) fn wanted_interest(&self) -> Interest {
        if self.flags.is(Flag::DESTROY_AFTER_JOB) {
            return Interest {
                read: false,
                write: false,
            };
        }
        let read = match self.phase {
            Phase::Handshake(_) => true,
            Phase::Deciding(_) | Phase::Refused(_) => false,
            // Read on after a refusal only to notice the peer closing.
            Phase::Rejecting(_) => false,
            Phase::Open(_) => {
                !self.flags.is(Flag::PAUSED)
                    && !self.flags.is(Flag::PEER_EOF)
                    && !self.flags.is(Flag::INFLATING)
            }
        };
        Interest {
            read,
            write: self.flags.is(Flag::WANT_WRITE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_takes_64_bytes() {
        // Every idle connection has one (see the module comment).
        assert!(
            std::mem::size_of::<Slot>() <= 64,
            "{}",
            std::mem::size_of::<Slot>()
        );
    }

    #[test]
    fn flags_are_independent_bits() {
        let (listener, addr) = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let a = l.local_addr().unwrap();
            (l, a)
        };
        let stream = TcpStream::connect(addr).unwrap();
        let mut slot = Slot::new(
            Token(1),
            stream,
            Phase::Handshake(Box::new(Acceptor::new(Default::default()))),
        );
        slot.flags.set(Flag::DIRTY, true);
        slot.flags.set(Flag::PEER_EOF, true);
        assert!(
            slot.flags.is(Flag::DIRTY)
                && slot.flags.is(Flag::PEER_EOF)
                && !slot.flags.is(Flag::PAUSED)
        );
        slot.flags.set(Flag::DIRTY, false);
        assert!(!slot.flags.is(Flag::DIRTY) && slot.flags.is(Flag::PEER_EOF));
        drop(listener);
    }
}
