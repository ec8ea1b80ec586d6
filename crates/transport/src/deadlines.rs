//! All connections' deadlines in one min-heap, swept together (never a timer per
//! connection). Entries are not removed when a deadline changes: the sweep checks
//! each against its connection, and a connection pushes only when its deadline moves.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::Token;

#[derive(Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<(u64, Token)>>,
}

impl Deadlines {
    pub(crate) fn push(&mut self, at: u64, token: Token) {
        self.heap.push(Reverse((at, token)));
    }

    /// The earliest deadline (possibly stale: the sweep finds out).
    pub(crate) fn next(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Takes the next entry due at `now`.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<Token> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse((_, t))| t),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_due_entries_in_order() {
        let mut d = Deadlines::default();
        d.push(30, Token(3));
        d.push(10, Token(1));
        d.push(20, Token(2));
        assert_eq!(d.next(), Some(10));
        assert_eq!(d.pop_due(5), None);
        assert_eq!(d.pop_due(25), Some(Token(1)));
        assert_eq!(d.pop_due(25), Some(Token(2)));
        assert_eq!(d.pop_due(25), None);
        assert_eq!(d.next(), Some(30));
    }
}
