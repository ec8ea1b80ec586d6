//! Sends that wait behind a message being compressed off the caller's thread.
//!
//! permessage-deflate keeps one compression context per direction (RFC 7692 §7.2.1),
//! and frames leave in call order (RFC 6455 §5.4 forbids interleaving a message's
//! frames with another's; a control frame may go between, but `ws` keeps call order
//! and so do we). So while a message is out for compression, every later call —
//! messages, pings, pongs, the close frame — waits here, and is framed when the
//! compressed message has been framed: the order `ws`'s `Sender` queue keeps.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::frame::OpCode;

/// How a waiting data frame is to be framed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameInfo {
    pub(crate) op: OpCode,
    /// First frame of its message (RSV1 goes there, RFC 7692 §6).
    pub(crate) first: bool,
    pub(crate) fin: bool,
    pub(crate) compress: bool,
    pub(crate) mask: Option<[u8; 4]>,
}

/// One call waiting to be framed.
#[derive(Debug)]
pub(crate) enum Waiting {
    Data {
        info: FrameInfo,
        data: Vec<u8>,
    },
    /// A frame encoded already (control frames, frames queued as they are). `pong`:
    /// an automatic pong, counted by the lifecycle once it is in the send queue.
    Frame {
        bytes: Bytes,
        pong: bool,
    },
}

impl Waiting {
    fn len(&self) -> usize {
        match self {
            Waiting::Data { data, .. } => data.len(),
            Waiting::Frame { bytes, .. } => bytes.len(),
        }
    }
}

#[derive(Debug)]
struct Entry {
    item: Waiting,
    /// Made by a caller's call that reports back (send, ping, pong, send_frame), not
    /// by the connection itself (an owed close, an automatic pong): the caller counts
    /// these to know when its callbacks' data has been framed.
    tagged: bool,
}

/// The calls waiting behind a compression job, and that job's frame. Allocated while
/// in use only: a connection that offloads nothing (or nothing now) holds 8 bytes.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
    queue: Option<Box<Queue>>,
}

#[derive(Debug, Default)]
struct Queue {
    entries: VecDeque<Entry>,
    /// The frame of the message being compressed while its job is out, whether its
    /// call was tagged, and its payload length.
    in_flight: Option<(FrameInfo, bool, usize)>,
    /// Payload bytes waiting (the message being compressed included): `ws` counts
    /// them in `bufferedAmount`.
    bytes: usize,
}

impl Deferred {
    /// Whether new calls must wait here.
    pub(crate) fn is_active(&self) -> bool {
        self.queue.is_some()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| q.bytes)
    }

    pub(crate) fn push(&mut self, item: Waiting, tagged: bool) {
        let q = self.queue.get_or_insert_with(Box::default);
        q.bytes += item.len();
        q.entries.push_back(Entry { item, tagged });
    }

    /// Drops the queue once nothing waits and no job is out.
    fn release_if_idle(&mut self) {
        if self
            .queue
            .as_ref()
            .is_some_and(|q| q.entries.is_empty() && q.in_flight.is_none())
        {
            self.queue = None;
        }
    }

    /// The next entry if `ready` accepts it (the drain stops before a message that
    /// goes out for compression in turn).
    pub(crate) fn pop_if(
        &mut self,
        ready: impl FnOnce(&Waiting) -> bool,
    ) -> Option<(Waiting, bool)> {
        let q = self.queue.as_mut()?;
        if q.in_flight.is_some() || !ready(&q.entries.front()?.item) {
            return None;
        }
        let e = q.entries.pop_front()?;
        q.bytes -= e.item.len();
        self.release_if_idle();
        Some((e.item, e.tagged))
    }

    /// Takes the front message out for compression: its frame waits in `in_flight`.
    pub(crate) fn start_job(&mut self) -> Option<(FrameInfo, Vec<u8>)> {
        let q = self.queue.as_mut()?;
        if q.in_flight.is_some() {
            return None;
        }
        match q.entries.front() {
            Some(Entry {
                item: Waiting::Data { info, .. },
                ..
            }) if info.compress => {}
            _ => return None,
        }
        let Some(Entry {
            item: Waiting::Data { info, data },
            tagged,
        }) = q.entries.pop_front()
        else {
            return None;
        };
        q.in_flight = Some((info, tagged, data.len()));
        Some((info, data))
    }

    /// The job is back: its frame info and whether its call was tagged.
    pub(crate) fn end_job(&mut self) -> Option<(FrameInfo, bool)> {
        let q = self.queue.as_mut()?;
        let (info, tagged, len) = q.in_flight.take()?;
        q.bytes -= len;
        self.release_if_idle();
        Some((info, tagged))
    }

    /// The connection is gone: nothing waiting will be framed (a job out still
    /// comes back, to return its context).
    pub(crate) fn clear(&mut self) {
        if let Some(q) = self.queue.as_mut() {
            q.entries.clear();
            q.bytes = q.in_flight.map_or(0, |(_, _, len)| len);
        }
        self.release_if_idle();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.queue.as_ref().map_or(0, |q| {
            std::mem::size_of::<Queue>()
                + q.bytes
                + q.entries.capacity() * std::mem::size_of::<Entry>()
        })
    }
}
