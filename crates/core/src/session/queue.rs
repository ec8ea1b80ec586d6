//! The send queue: messages waiting for a link (and, in acknowledged mode, sent messages
//! waiting for their acknowledgement), bounded by count and bytes, kept in send order.

use super::config::{Overflow, QueueConfig};
use super::{DropReason, Message};
use std::collections::VecDeque;

/// A queued message and its sequence number (0 outside acknowledged mode).
#[derive(Debug)]
pub struct Queued {
    pub seq: u64,
    pub msg: Message,
}

#[derive(Debug, Default)]
pub struct SendQueue {
    items: VecDeque<Queued>,
    bytes: usize,
}

/// Result of [`SendQueue::push`].
pub enum Pushed {
    /// Queued; the listed older messages were evicted to make room.
    Queued(Vec<Message>),
    /// Not queued; the message is handed back with the reason.
    Rejected(Message, DropReason),
}

/// Whether a message of `size` bytes can ever enter a queue with these bounds.
pub fn admits(size: usize, cfg: &QueueConfig) -> bool {
    size <= cfg.max_bytes && cfg.max_messages > 0
}

impl SendQueue {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `size` more bytes fit now without evicting anything.
    pub fn fits(&self, size: usize, cfg: &QueueConfig) -> bool {
        self.items.len() < cfg.max_messages && self.bytes + size <= cfg.max_bytes
    }

    pub fn push(&mut self, seq: u64, msg: Message, cfg: &QueueConfig) -> Pushed {
        let size = msg.len();
        if !admits(size, cfg) {
            return Pushed::Rejected(msg, DropReason::TooLarge);
        }
        let mut evicted = Vec::new();
        if !self.fits(size, cfg) {
            if cfg.overflow != Overflow::DropOldest {
                return Pushed::Rejected(msg, DropReason::QueueFull);
            }
            // Cannot run dry: the message alone fits (checked above).
            while !self.fits(size, cfg) {
                let Some(old) = self.items.pop_front() else {
                    break;
                };
                self.bytes -= old.msg.len();
                evicted.push(old.msg);
            }
        }
        self.bytes += size;
        self.items.push_back(Queued { seq, msg });
        Pushed::Queued(evicted)
    }

    /// Takes every message out, oldest first; the queue is empty afterwards.
    pub fn take(&mut self) -> impl Iterator<Item = Message> {
        self.bytes = 0;
        std::mem::take(&mut self.items).into_iter().map(|q| q.msg)
    }

    /// Removes the messages acknowledged by an ACK of `seq` (every one up to and including it).
    pub fn ack_through(&mut self, seq: u64) {
        while self.items.front().is_some_and(|q| q.seq <= seq) {
            if let Some(q) = self.items.pop_front() {
                self.bytes -= q.msg.len();
            }
        }
    }

    /// The queued messages, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &Queued> {
        self.items.iter()
    }
}
