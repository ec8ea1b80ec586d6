//! A connection's life after the opening handshake (RFC 6455 §7): the close handshake in
//! both directions, when the transport may be ended or must be destroyed, the close
//! timeout as a deadline, the bound on unwritten automatic pongs, and the status the
//! application is told at the end (1005/1006 when no code was received). Every
//! transport asks this instead of keeping its own flags and timers.

/// What the transport should do with the connection now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportAction {
    /// Keep reading and writing.
    Keep,
    /// Write everything queued, then end the write side (TCP FIN). Reading on until the
    /// peer ends too is allowed, not needed: the close handshake is over or failed.
    End,
    /// Close the transport now, dropping what is queued.
    Destroy,
}

/// Why the transport must be destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DestroyReason {
    /// The caller terminated the connection.
    Terminated,
    /// The close handshake did not finish within `Config::close_timeout`.
    CloseTimeout,
    /// The peer kept pinging without reading our pongs (`Config::max_pending_pongs`).
    TooManyPendingPongs,
    /// A heartbeat ping got no answer (pong or any data) within its timeout.
    HeartbeatTimeout,
}

impl DestroyReason {
    /// The reason the application is told with 1006 (empty where `ws` says nothing).
    pub fn reason(&self) -> &'static str {
        match self {
            DestroyReason::HeartbeatTimeout => "heartbeat timeout",
            _ => "",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Deadline {
    #[default]
    None,
    /// Wanted from the next time the caller tells us the time.
    Unarmed,
    At(u64),
}

/// The lifecycle state of one connection.
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    /// Our close frame is in the send queue (or written).
    close_sent: bool,
    /// The peer's close frame: its code (None = no status) and reason.
    close_received: Option<(Option<u16>, Box<str>)>,
    /// A close frame we owe (the echo of the peer's, or the close of a failed
    /// connection), queued when the caller next takes the output so that replies to
    /// messages that arrived before it go out first (RFC 6455 §5.5.1).
    owed_close: Option<Vec<u8>>,
    failed: bool,
    peer_ended: bool,
    destroyed: Option<DestroyReason>,
    close_deadline: Deadline,
    /// Automatic pongs queued and not yet written, and where the last one ends in the
    /// send queue (every pong up to there has left once the queue is written past it).
    pending_pongs: usize,
    last_pong_end: u64,
    /// Automatic pongs the caller is sending itself (`begin_auto_pong`) and has not
    /// reported written yet.
    external_pongs: usize,
}

impl Lifecycle {
    pub(crate) fn close_sent(&self) -> bool {
        self.close_sent
    }

    pub(crate) fn close_received(&self) -> Option<(Option<u16>, &str)> {
        self.close_received.as_ref().map(|(c, r)| (*c, &**r))
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// Whether data frames may still be queued: until our close frame is queued (an
    /// owed close is queued with the next output, so the messages delivered before it
    /// can still be answered), and not once the transport ended or was destroyed.
    pub(crate) fn can_send(&self) -> bool {
        !self.close_sent && self.destroyed.is_none() && !self.peer_ended
    }

    /// Whether received bytes are still parsed (RFC 6455 §5.5.1: nothing after a close).
    pub(crate) fn can_receive(&self) -> bool {
        !self.failed && self.close_received.is_none() && self.destroyed.is_none()
    }

    /// Our close frame went into the send queue: the close timer starts.
    pub(crate) fn on_close_queued(&mut self) {
        self.close_sent = true;
        self.owed_close = None;
        if self.close_deadline == Deadline::None {
            self.close_deadline = Deadline::Unarmed;
        }
    }

    pub(crate) fn on_close_received(&mut self, code: Option<u16>, reason: &str, payload: &[u8]) {
        if !self.close_sent {
            // §5.5.1: echo the status (and, as ws, the reason) — the payload as received.
            self.owed_close = Some(payload.to_vec());
            self.close_deadline = Deadline::Unarmed;
        }
        self.close_received = Some((code, reason.into()));
    }

    /// The peer broke the protocol: the close frame with `code` is owed (§7.1.7).
    pub(crate) fn on_failed(&mut self, code: u16) {
        if !self.close_sent && self.owed_close.is_none() {
            self.owed_close = Some(code.to_be_bytes().to_vec());
        }
        if self.close_deadline == Deadline::None {
            self.close_deadline = Deadline::Unarmed;
        }
        self.failed = true;
    }

    /// A close the application asked for before the owed one was written replaces it.
    pub(crate) fn replace_owed_close(&mut self, payload: Vec<u8>) {
        if self.has_owed_close() {
            self.owed_close = Some(payload);
        }
    }

    /// Takes the close frame payload owed, if it is still to be written.
    pub(crate) fn take_owed_close(&mut self) -> Option<Vec<u8>> {
        if self.close_sent || self.destroyed.is_some() {
            self.owed_close = None;
            return None;
        }
        self.owed_close.take()
    }

    pub(crate) fn has_owed_close(&self) -> bool {
        self.owed_close.is_some() && !self.close_sent && self.destroyed.is_none()
    }

    pub(crate) fn on_peer_ended(&mut self) {
        self.peer_ended = true;
    }

    pub(crate) fn destroy(&mut self, why: DestroyReason) {
        if self.destroyed.is_none() {
            self.destroyed = Some(why);
        }
        self.owed_close = None;
        self.close_deadline = Deadline::None;
    }

    pub(crate) fn destroyed(&self) -> Option<DestroyReason> {
        self.destroyed
    }

    pub(crate) fn transport_action(&self) -> TransportAction {
        if self.destroyed.is_some() {
            TransportAction::Destroy
        } else if self.peer_ended
            || (self.close_sent && (self.close_received.is_some() || self.failed))
        {
            // ws ends its side once both close frames are exchanged (or the receiver
            // failed and our close went out), and answers the peer's end with its own.
            TransportAction::End
        } else {
            TransportAction::Keep
        }
    }

    /// The next deadline (caller's clock, ms), arming a wanted one at `now + timeout`.
    pub(crate) fn poll_deadline(&mut self, now: u64, close_timeout: u64) -> Option<u64> {
        match self.close_deadline {
            Deadline::None => None,
            Deadline::Unarmed => {
                let at = now.saturating_add(close_timeout);
                self.close_deadline = Deadline::At(at);
                Some(at)
            }
            Deadline::At(at) => Some(at),
        }
    }

    /// Time has come: destroy the transport if the close handshake has not finished.
    pub(crate) fn on_timeout(&mut self, now: u64) {
        if let Deadline::At(at) = self.close_deadline {
            if now >= at {
                self.destroy(DestroyReason::CloseTimeout);
            }
        }
    }

    /// Room for one more automatic pong? Past `max` (0 = no bound) the peer is
    /// terminated, as `ws` does.
    pub(crate) fn admit_pong(&mut self, max: usize) -> bool {
        if max > 0 && self.pending_pongs + self.external_pongs >= max {
            self.destroy(DestroyReason::TooManyPendingPongs);
            return false;
        }
        true
    }

    pub(crate) fn on_pong_queued(&mut self, end: u64) {
        self.pending_pongs += 1;
        self.last_pong_end = end;
    }

    pub(crate) fn on_external_pong(&mut self, started: bool) {
        if started {
            self.external_pongs += 1;
        } else {
            self.external_pongs = self.external_pongs.saturating_sub(1);
        }
    }

    /// The send queue was written up to `written`.
    pub(crate) fn on_written(&mut self, written: u64) {
        if written >= self.last_pong_end {
            self.pending_pongs = 0;
        }
    }

    /// The status the application is told when the connection ends: the peer's code
    /// (1005 when its close frame had none), else 1006 (RFC 6455 §7.1.5, §7.4.1).
    pub(crate) fn close_status(&self) -> (u16, &str) {
        match &self.close_received {
            Some((code, reason)) => (code.unwrap_or(1005), reason),
            None => (1006, self.destroyed.map_or("", |d| d.reason())),
        }
    }
}
