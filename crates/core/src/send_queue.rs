//! The bytes a connection has framed but the transport has not written yet, as a queue
//! of segments: owned bytes (frames are appended to the last owned segment, so many
//! small frames make one contiguous write) and shared, already-encoded frames
//! ([`Bytes`], the same allocation queued to many connections without a copy).
//!
//! A partial write advances an offset instead of moving the remaining bytes, and
//! [`SendQueue::io_slices`] hands every segment to a vectored write (`writev`) at once.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::Bytes;

/// Owned segments above this capacity are released once written, so an idle
/// connection holds no large allocation.
pub(crate) const RETAIN_CAPACITY: usize = 1024;

#[derive(Debug)]
enum Segment {
    Owned(Vec<u8>),
    Shared(Bytes),
}

impl Segment {
    fn bytes(&self) -> &[u8] {
        match self {
            Segment::Owned(v) => v,
            Segment::Shared(b) => b,
        }
    }
}

/// Frames waiting for the transport, in the order they must go out.
#[derive(Debug, Default)]
pub(crate) struct SendQueue {
    segments: VecDeque<Segment>,
    /// Bytes of the front segment already written.
    front_written: usize,
    /// Bytes queued and not yet written.
    buffered: usize,
    /// Bytes ever queued / ever written: positions that outlive the segments, so a
    /// caller can tell when a given frame has left (its end position ≤ `written`).
    queued_total: u64,
    written_total: u64,
    /// A small written-out buffer kept for the next frames instead of reallocating.
    spare: Vec<u8>,
}

impl SendQueue {
    /// Bytes waiting to be written.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buffered == 0
    }

    /// Position just past the last queued byte.
    pub(crate) fn end_position(&self) -> u64 {
        self.queued_total
    }

    /// Position just past the last written byte.
    pub(crate) fn written_position(&self) -> u64 {
        self.written_total
    }

    /// Appends bytes with `write` to the last owned segment (a new one when the queue
    /// ends with a shared frame), so consecutive frames stay contiguous.
    pub(crate) fn append_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        if !matches!(self.segments.back(), Some(Segment::Owned(_))) {
            let buf = std::mem::take(&mut self.spare);
            self.segments.push_back(Segment::Owned(buf));
        }
        let Some(Segment::Owned(tail)) = self.segments.back_mut() else {
            unreachable!("an owned segment was just ensured");
        };
        let before = tail.len();
        write(tail);
        let added = tail.len() - before;
        self.buffered += added;
        self.queued_total += added as u64;
    }

    /// A frame (its `parts` in order) of which the caller wrote the first `written`
    /// bytes itself, right after everything that was queued: counted as queued and
    /// written, and the rest appended (copied) to go out next.
    pub(crate) fn append_written_through(&mut self, parts: [&[u8]; 2], written: usize) {
        debug_assert!(written == 0 || self.is_empty(), "written after the queue");
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let written = written.min(total);
        self.queued_total += written as u64;
        self.written_total += written as u64;
        if written == total {
            return;
        }
        let rest = total - written;
        // What follows the first `written` bytes of the parts.
        let copy_rest = |out: &mut Vec<u8>| {
            let mut skip = written;
            for part in parts {
                if skip >= part.len() {
                    skip -= part.len();
                    continue;
                }
                out.extend_from_slice(&part[skip..]);
                skip = 0;
            }
        };
        if rest >= crate::spare_buffers::MIN_CAPACITY {
            // A segment of its own, in memory already paged in when there is some.
            let mut out = Vec::new();
            crate::spare_buffers::reserve(&mut out, rest);
            copy_rest(&mut out);
            self.buffered += rest;
            self.queued_total += rest as u64;
            self.segments.push_back(Segment::Owned(out));
            return;
        }
        self.append_with(copy_rest);
    }

    /// Queues an already-encoded frame shared with other queues.
    pub(crate) fn push_shared(&mut self, frame: Bytes) {
        if frame.is_empty() {
            return;
        }
        self.buffered += frame.len();
        self.queued_total += frame.len() as u64;
        self.segments.push_back(Segment::Shared(frame));
    }

    /// The first contiguous run of unwritten bytes (empty when nothing is queued).
    pub(crate) fn front(&self) -> &[u8] {
        match self.segments.front() {
            Some(s) => &s.bytes()[self.front_written..],
            None => &[],
        }
    }

    /// Every unwritten segment, for a vectored write; returns how many slots were filled.
    pub(crate) fn io_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, bytes) in out.iter_mut().zip(self.chunks()) {
            *slot = IoSlice::new(bytes);
            n += 1;
        }
        n
    }

    /// Every unwritten segment in order.
    pub(crate) fn chunks(&self) -> impl Iterator<Item = &[u8]> {
        self.segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == 0 {
                    &s.bytes()[self.front_written..]
                } else {
                    s.bytes()
                }
            })
            .filter(|b| !b.is_empty())
    }

    /// Marks `n` bytes as written (at most what is queued).
    pub(crate) fn consume(&mut self, n: usize) {
        let mut n = n.min(self.buffered);
        self.buffered -= n;
        self.written_total += n as u64;
        while n > 0 {
            let front_len = self.segments.front().map_or(0, |s| s.bytes().len());
            let left = front_len - self.front_written;
            if n < left {
                self.front_written += n;
                return;
            }
            n -= left;
            self.pop_front();
        }
        // A fully written front segment may be left when n ended exactly on its end.
        while self
            .segments
            .front()
            .is_some_and(|s| s.bytes().len() == self.front_written)
        {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        self.front_written = 0;
        if let Some(Segment::Owned(mut v)) = self.segments.pop_front() {
            if v.capacity() <= RETAIN_CAPACITY && v.capacity() > self.spare.capacity() {
                v.clear();
                self.spare = v;
            } else {
                crate::spare_buffers::recycle_buffer(v);
            }
        }
    }

    /// Takes every unwritten byte as one buffer (moving it when it is one owned segment).
    pub(crate) fn take_all(&mut self) -> Vec<u8> {
        let out = if self.segments.len() == 1 && self.front_written == 0 {
            match self.segments.pop_front() {
                Some(Segment::Owned(v)) => v,
                Some(Segment::Shared(b)) => b.to_vec(),
                None => Vec::new(),
            }
        } else {
            let mut v = Vec::with_capacity(self.buffered);
            for c in self.chunks() {
                v.extend_from_slice(c);
            }
            self.segments.clear();
            v
        };
        self.front_written = 0;
        self.written_total += self.buffered as u64;
        self.buffered = 0;
        out
    }

    /// Heap bytes held by owned segments (shared frames belong to their publisher).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Owned(v) => v.capacity(),
                Segment::Shared(_) => 0,
            })
            .sum::<usize>()
            + self.segments.capacity() * std::mem::size_of::<Segment>()
            + self.spare.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(q: &SendQueue) -> Vec<u8> {
        q.chunks().flatten().copied().collect()
    }

    #[test]
    fn small_frames_coalesce_and_shared_frames_keep_their_place() {
        let mut q = SendQueue::default();
        q.append_with(|v| v.extend_from_slice(b"ab"));
        q.append_with(|v| v.extend_from_slice(b"cd"));
        q.push_shared(Bytes::from_static(b"SHARED"));
        q.append_with(|v| v.extend_from_slice(b"ef"));
        assert_eq!(q.buffered(), 12);
        assert_eq!(q.front(), b"abcd");
        let mut slots = [IoSlice::new(&[]); 8];
        assert_eq!(q.io_slices(&mut slots), 3);
        assert_eq!(all(&q), b"abcdSHAREDef");
    }

    #[test]
    fn partial_writes_advance_without_moving_bytes() {
        let mut q = SendQueue::default();
        q.append_with(|v| v.extend_from_slice(b"hello"));
        q.push_shared(Bytes::from_static(b"world"));
        q.consume(3);
        assert_eq!(q.front(), b"lo");
        q.consume(4);
        assert_eq!(q.front(), b"rld");
        assert_eq!(
            (q.buffered(), q.written_position(), q.end_position()),
            (3, 7, 10)
        );
        q.consume(100);
        assert!(q.is_empty());
        assert_eq!(q.front(), b"");
        assert_eq!(q.written_position(), 10);
    }

    #[test]
    fn large_buffers_are_released_once_written() {
        let mut q = SendQueue::default();
        q.append_with(|v| v.resize(1 << 20, 7));
        q.consume(1 << 20);
        assert!(q.heap_bytes() <= RETAIN_CAPACITY, "{}", q.heap_bytes());
        q.append_with(|v| v.extend_from_slice(b"x"));
        assert_eq!(q.take_all(), b"x");
        assert!(q.is_empty());
    }

    #[test]
    fn take_all_joins_segments() {
        let mut q = SendQueue::default();
        q.append_with(|v| v.extend_from_slice(b"12"));
        q.push_shared(Bytes::from_static(b"34"));
        q.consume(1);
        assert_eq!(q.take_all(), b"234");
        assert_eq!(q.written_position(), 4);
    }
}
