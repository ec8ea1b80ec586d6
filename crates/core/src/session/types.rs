//! The values a [`Session`](super::Session) takes and gives: messages, actions, states and the
//! reasons it reports. Every reason has one spelling, [`as_str`](DropReason::as_str), which the
//! Node and browser bindings use as is.

/// A data message, as queued and sent by the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (UTF-8).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

impl Message {
    /// Payload size in bytes (what the queue's byte bound counts).
    pub fn len(&self) -> usize {
        self.bytes().len()
    }
    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The payload (UTF-8 for text).
    pub fn bytes(&self) -> &[u8] {
        match self {
            Message::Text(t) => t.as_bytes(),
            Message::Binary(b) => b,
        }
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Self {
        Message::Text(s.to_owned())
    }
}
impl From<String> for Message {
    fn from(s: String) -> Self {
        Message::Text(s)
    }
}
impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Self {
        Message::Binary(b)
    }
}

/// Why a message was not (and will never be) sent — or, in acknowledged mode, will not be sent
/// again (it may have reached the peer without an acknowledgement).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// The queue was full (count or bytes) under its overflow policy.
    QueueFull,
    /// The message alone is larger than the queue's byte bound.
    TooLarge,
    /// The session ended while the message was queued (or unacknowledged).
    Closed,
}

impl DropReason {
    /// `queue-full`, `too-large`, `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue-full",
            DropReason::TooLarge => "too-large",
            DropReason::Closed => "closed",
        }
    }
}

/// Why the session stopped for good.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// The user called [`Session::close`](super::Session::close).
    UserClose,
    /// `max_retries` attempts failed in a row.
    MaxRetries,
    /// The peer closed with a code the [`ClosePolicy`](super::ClosePolicy) does not reconnect
    /// on (1006 when it closed without a close frame).
    CloseCode(u16),
    /// Acknowledged delivery was asked for and the server did not select its subprotocol.
    AckRefused,
}

impl EndReason {
    /// `close`, `max-retries`, `close-code`, `ack-refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::UserClose => "close",
            EndReason::MaxRetries => "max-retries",
            EndReason::CloseCode(_) => "close-code",
            EndReason::AckRefused => "ack-refused",
        }
    }
    /// The close code of [`EndReason::CloseCode`].
    pub fn code(self) -> Option<u16> {
        match self {
            EndReason::CloseCode(c) => Some(c),
            _ => None,
        }
    }
}

/// Refusal of [`Session::send`](super::Session::send).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The session was closed by the user or has ended.
    Closed,
    /// The queue is full and its overflow policy is [`Overflow::Error`](super::Overflow::Error).
    QueueFull,
    /// The message is larger than the queue's byte bound and the policy is
    /// [`Overflow::Error`](super::Overflow::Error).
    TooLarge,
}

impl SendError {
    /// `closed`, `queue-full`, `too-large`.
    pub fn as_str(self) -> &'static str {
        match self {
            SendError::Closed => "closed",
            SendError::QueueFull => "queue-full",
            SendError::TooLarge => "too-large",
        }
    }
    /// The error message the bindings throw.
    pub fn message(self) -> &'static str {
        match self {
            SendError::Closed => "the session is closed",
            SendError::QueueFull => "the send queue is full",
            SendError::TooLarge => "the message is larger than the send queue",
        }
    }
}

/// What the caller must do (or report), in order.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open a new transport (resolve URL/protocol providers now). `attempt` 0 is a fresh start.
    Connect {
        /// Failed attempts before this one.
        attempt: u32,
    },
    /// Send this message on the open transport (in acknowledged mode: a wire frame).
    Send(Message),
    /// Send a protocol ping frame (RFC 6455 §5.5.2).
    Ping,
    /// Send this application-level heartbeat message.
    SendHeartbeat(Message),
    /// Close the transport gracefully and report its close with
    /// [`Session::closed`](super::Session::closed) (user close).
    Close {
        /// Close code to send (RFC 6455 §7.4).
        code: u16,
        /// Close reason to send.
        reason: String,
    },
    /// Close the transport and forget it: the session has already moved on, so no further event
    /// of that transport may be reported. Report a close with this code to the user.
    Abort {
        /// Close code to send and report.
        code: u16,
        /// Close reason to send and report.
        reason: String,
    },
    /// A reconnect is scheduled: retry `attempt` will start at time `at` (`delay_ms` from now).
    Reconnecting {
        /// The retry number (1 for the first retry).
        attempt: u32,
        /// The backoff delay drawn for it.
        delay_ms: u64,
        /// When it starts, on the caller's clock.
        at: u64,
    },
    /// No heartbeat answer (or no traffic) arrived in time; an `Abort` follows.
    HeartbeatTimeout,
    /// A message was given up.
    Dropped {
        /// The message.
        msg: Message,
        /// Why.
        reason: DropReason,
    },
    /// The session stopped for good.
    Ended(EndReason),
}

/// Where the session is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Created, [`Session::start`](super::Session::start) not called yet.
    Idle,
    /// A transport is being opened.
    Connecting,
    /// The link is open.
    Open,
    /// The link is closing on its own (the peer's close frame, or the transport said so);
    /// what is sent meanwhile is queued for the next link.
    LinkClosing,
    /// The user closed; waiting for the transport to confirm.
    Closing,
    /// Waiting for the backoff delay before the next attempt.
    Waiting,
    /// Ended: user close, `max_retries`, or close-code policy.
    Closed,
}

impl State {
    /// The browser `WebSocket.readyState` this state shows as (waiting counts as connecting).
    pub fn ready_state(self) -> u16 {
        match self {
            State::Idle | State::Connecting | State::Waiting => 0,
            State::Open => 1,
            State::LinkClosing | State::Closing => 2,
            State::Closed => 3,
        }
    }
    /// `connecting`, `open`, `closing`, `waiting`, `closed` (what the bindings' `state` shows).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Idle | State::Connecting => "connecting",
            State::Open => "open",
            State::LinkClosing | State::Closing => "closing",
            State::Waiting => "waiting",
            State::Closed => "closed",
        }
    }
}

/// What to do with a message that arrived, from [`Session::received`](super::Session::received).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// Hand the message to the application as it arrived.
    Message,
    /// Hand the payload `data[offset..]` to the application, as text when `text`
    /// (acknowledged mode: a new sequenced message).
    Payload {
        /// Where the payload starts ([`wire::HEADER_LEN`](super::wire::HEADER_LEN)).
        offset: usize,
        /// Whether it is text (UTF-8).
        text: bool,
    },
    /// The heartbeat reply (not for the application; [`Session::rtt`](super::Session::rtt) is
    /// updated).
    HeartbeatReply,
    /// Not for the application: an acknowledgement, a duplicate.
    Consumed,
}
