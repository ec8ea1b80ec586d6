//! What the transport asks of the readiness source it is plugged into.

use std::io;
use std::os::fd::RawFd;

/// Names a socket of a [`Server`](crate::Server) to its poller and its caller: a table
/// slot and that slot's generation, so a token of a closed connection never reaches a
/// new one that reuses the slot. Fits in 53 bits (a JavaScript number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

impl Token {
    /// The listening socket.
    pub const LISTENER: Token = Token(0);

    const SLOT_BITS: u32 = 24;

    pub(crate) fn new(slot: usize, generation: u32) -> Token {
        // Slot 0 of the table is token 1: token 0 is the listener.
        let gen = u64::from(generation & ((1 << 29) - 1));
        Token((gen << Self::SLOT_BITS) | (slot as u64 + 1))
    }

    pub(crate) fn slot(self) -> Option<usize> {
        let s = (self.0 & ((1 << Self::SLOT_BITS) - 1)) as usize;
        s.checked_sub(1)
    }

    /// Most connections a server holds at once (the slot field's range).
    pub(crate) const MAX_SLOTS: usize = (1 << Self::SLOT_BITS) - 2;
}

/// Which readiness a socket waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Interest {
    /// Tell the server when the socket can be read (or was closed by the peer).
    pub read: bool,
    /// Tell the server when the socket can be written.
    pub write: bool,
}

impl Interest {
    /// Nothing: the socket stays registered, silent.
    pub const NONE: Interest = Interest {
        read: false,
        write: false,
    };
    /// Readable only.
    pub const READ: Interest = Interest {
        read: true,
        write: false,
    };
}

/// The caller's readiness source (a libuv loop, epoll, poll(2)...). The server calls it
/// synchronously; `deregister` always comes before the socket is closed.
pub trait Poller {
    /// Starts watching `fd` for `interest`.
    fn register(&mut self, token: Token, fd: RawFd, interest: Interest) -> io::Result<()>;
    /// Changes what a registered socket (`fd`, as registered) waits for, from
    /// `previous` (what it was registered or last updated with).
    fn update(&mut self, token: Token, fd: RawFd, previous: Interest, interest: Interest);
    /// Stops watching the socket (`fd`, as registered, waiting for `interest`); it is
    /// closed right after.
    fn deregister(&mut self, token: Token, fd: RawFd, interest: Interest);
}
