//! The offline queue: messages sent while the link is down, bounded by count and bytes,
//! handed back in order exactly once.

use super::config::{Overflow, QueueConfig};
use super::{DropReason, Message};
use std::collections::VecDeque;

#[derive(Debug, Default)]
pub struct OfflineQueue {
    items: VecDeque<Message>,
    bytes: usize,
}

/// Result of [`OfflineQueue::push`].
pub enum Pushed {
    /// Queued; the listed older messages were evicted to make room.
    Queued(Vec<Message>),
    /// Not queued; the message is handed back with the reason.
    Rejected(Message, DropReason),
}

impl OfflineQueue {
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn push(&mut self, msg: Message, cfg: &QueueConfig) -> Pushed {
        let size = msg.len();
        if size > cfg.max_bytes || cfg.max_messages == 0 {
            return Pushed::Rejected(msg, DropReason::TooLarge);
        }
        let fits = |q: &Self| q.items.len() < cfg.max_messages && q.bytes + size <= cfg.max_bytes;
        let mut evicted = Vec::new();
        if !fits(self) {
            match cfg.overflow {
                Overflow::DropNewest | Overflow::Error => {
                    return Pushed::Rejected(msg, DropReason::QueueFull)
                }
                Overflow::DropOldest => {
                    while !fits(self) {
                        // Cannot run dry: the message alone fits (checked above).
                        let old = self.items.pop_front().expect("queue holds the overflow");
                        self.bytes -= old.len();
                        evicted.push(old);
                    }
                }
            }
        }
        self.bytes += size;
        self.items.push_back(msg);
        Pushed::Queued(evicted)
    }

    /// Takes every message out, oldest first; the queue is empty afterwards.
    pub fn take(&mut self) -> VecDeque<Message> {
        self.bytes = 0;
        std::mem::take(&mut self.items)
    }
}
