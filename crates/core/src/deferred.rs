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

/// The calls waiting behind a compression job, and that job's frame.
#[derive(Debug, Default)]
pub(crate) struct Deferred {
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
        self.in_flight.is_some() || !self.entries.is_empty()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    pub(crate) fn push(&mut self, item: Waiting, tagged: bool) {
        self.bytes += item.len();
        self.entries.push_back(Entry { item, tagged });
    }

    /// The next entry if `ready` accepts it (the drain stops before a message that
    /// goes out for compression in turn).
    pub(crate) fn pop_if(
        &mut self,
        ready: impl FnOnce(&Waiting) -> bool,
    ) -> Option<(Waiting, bool)> {
        if self.in_flight.is_some() || !ready(&self.entries.front()?.item) {
            return None;
        }
        let e = self.entries.pop_front()?;
        self.bytes -= e.item.len();
        Some((e.item, e.tagged))
    }

    /// Takes the front message out for compression: its frame waits in `in_flight`.
    pub(crate) fn start_job(&mut self) -> Option<(FrameInfo, Vec<u8>)> {
        if self.in_flight.is_some() {
            return None;
        }
        match self.entries.front() {
            Some(Entry {
                item: Waiting::Data { info, .. },
                ..
            }) if info.compress => {}
            _ => return None,
        }
        let Some(Entry {
            item: Waiting::Data { info, data },
            tagged,
        }) = self.entries.pop_front()
        else {
            return None;
        };
        self.in_flight = Some((info, tagged, data.len()));
        Some((info, data))
    }

    /// The job is back: its frame info and whether its call was tagged.
    pub(crate) fn end_job(&mut self) -> Option<(FrameInfo, bool)> {
        let (info, tagged, len) = self.in_flight.take()?;
        self.bytes -= len;
        Some((info, tagged))
    }

    /// The connection is gone: nothing waiting will be framed.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = self.in_flight.map_or(0, |(_, _, len)| len);
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.bytes + self.entries.capacity() * std::mem::size_of::<Entry>()
    }
}
