//! Pub/sub topics: which connections subscribe to which topic, beside the protocol and
//! sans-IO like it (uWebSockets.js keeps its topic tree apart from its protocol code the
//! same way). Publishing is the caller's loop over [`Topics::subscribers`]: it frames a
//! message once ([`PreparedMessage`](crate::PreparedMessage)) and queues the same bytes
//! on each subscriber.
//!
//! Matching is exact: a topic is an opaque string, no wildcards, no hierarchy.
//!
//! ```
//! use ferrosocket_core::topics::{Subscribed, Topics, Unsubscribed};
//! let mut t = Topics::default();
//! assert_eq!(t.subscribe(1u32, "news"), Subscribed::FirstOfTopic);
//! assert_eq!(t.subscribe(2, "news"), Subscribed::Added);
//! assert_eq!(t.subscribe(2, "news"), Subscribed::Already);
//! assert_eq!(t.subscribers("news"), &[1, 2]);
//! assert_eq!(t.unsubscribe(1, "news"), Unsubscribed::Removed);
//! assert_eq!(t.remove(2), vec!["news".to_string()], "the topic lost its last subscriber");
//! assert!(t.subscribers("news").is_empty());
//! ```

use std::collections::HashMap;
use std::hash::Hash;

/// What [`Topics::subscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subscribed {
    /// The member was subscribed already: nothing changed.
    Already,
    /// Subscribed; the topic had subscribers before.
    Added,
    /// Subscribed, and the topic had none before (a scale-out adapter starts listening).
    FirstOfTopic,
}

/// What [`Topics::unsubscribe`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribed {
    /// The member was not subscribed.
    NotSubscribed,
    /// Unsubscribed; the topic keeps other subscribers.
    Removed,
    /// Unsubscribed, and the topic has no subscriber left (an adapter stops listening).
    LastOfTopic,
}

/// Topics and their subscribers, keyed by a member id of the caller's choosing.
#[derive(Debug)]
pub struct Topics<K> {
    by_topic: HashMap<Box<str>, Vec<K>>,
    by_member: HashMap<K, Vec<Box<str>>>,
}

impl<K> Default for Topics<K> {
    fn default() -> Self {
        Topics {
            by_topic: HashMap::new(),
            by_member: HashMap::new(),
        }
    }
}

impl<K: Copy + Eq + Hash> Topics<K> {
    /// Subscribes `member` to `topic`.
    pub fn subscribe(&mut self, member: K, topic: &str) -> Subscribed {
        let topics = self.by_member.entry(member).or_default();
        if topics.iter().any(|t| &**t == topic) {
            return Subscribed::Already;
        }
        topics.push(topic.into());
        let subscribers = self.by_topic.entry(topic.into()).or_default();
        subscribers.push(member);
        if subscribers.len() == 1 {
            Subscribed::FirstOfTopic
        } else {
            Subscribed::Added
        }
    }

    /// Unsubscribes `member` from `topic`.
    pub fn unsubscribe(&mut self, member: K, topic: &str) -> Unsubscribed {
        let Some(topics) = self.by_member.get_mut(&member) else {
            return Unsubscribed::NotSubscribed;
        };
        let Some(at) = topics.iter().position(|t| &**t == topic) else {
            return Unsubscribed::NotSubscribed;
        };
        topics.swap_remove(at);
        if topics.is_empty() {
            self.by_member.remove(&member);
        }
        self.drop_subscriber(member, topic)
    }

    fn drop_subscriber(&mut self, member: K, topic: &str) -> Unsubscribed {
        let Some(subscribers) = self.by_topic.get_mut(topic) else {
            return Unsubscribed::NotSubscribed;
        };
        if let Some(at) = subscribers.iter().position(|m| *m == member) {
            // Order among subscribers carries no meaning: swap_remove keeps this O(1)
            // after the search.
            subscribers.swap_remove(at);
        }
        if subscribers.is_empty() {
            self.by_topic.remove(topic);
            Unsubscribed::LastOfTopic
        } else {
            Unsubscribed::Removed
        }
    }

    /// Removes `member` from every topic (its connection closed); returns the topics
    /// that lost their last subscriber.
    pub fn remove(&mut self, member: K) -> Vec<String> {
        let Some(topics) = self.by_member.remove(&member) else {
            return Vec::new();
        };
        let mut emptied = Vec::new();
        for topic in topics.iter() {
            if self.drop_subscriber(member, topic) == Unsubscribed::LastOfTopic {
                emptied.push(topic.to_string());
            }
        }
        emptied
    }

    /// Whether `member` subscribes to `topic`.
    pub fn is_subscribed(&self, member: K, topic: &str) -> bool {
        self.by_member
            .get(&member)
            .is_some_and(|ts| ts.iter().any(|t| &**t == topic))
    }

    /// The topics `member` subscribes to, in no particular order.
    pub fn topics_of(&self, member: K) -> impl Iterator<Item = &str> {
        self.by_member
            .get(&member)
            .into_iter()
            .flat_map(|ts| ts.iter().map(|t| &**t))
    }

    /// The subscribers of `topic`, in no particular order.
    pub fn subscribers(&self, topic: &str) -> &[K] {
        self.by_topic.get(topic).map_or(&[], |v| v.as_slice())
    }

    /// Topics with at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.by_topic.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribe_unsubscribe_and_remove_keep_both_indexes_in_step() {
        let mut t = Topics::default();
        for m in 0..100u32 {
            t.subscribe(m, "all");
            if m % 2 == 0 {
                t.subscribe(m, "even");
            }
        }
        assert_eq!(t.subscribers("all").len(), 100);
        assert_eq!(t.subscribers("even").len(), 50);
        assert_eq!(t.unsubscribe(3, "even"), Unsubscribed::NotSubscribed);
        assert_eq!(t.unsubscribe(3, "nope"), Unsubscribed::NotSubscribed);
        assert_eq!(t.unsubscribe(4, "even"), Unsubscribed::Removed);
        assert!(!t.is_subscribed(4, "even") && t.is_subscribed(4, "all"));
        let mut mine: Vec<_> = t.topics_of(6).collect();
        mine.sort();
        assert_eq!(mine, ["all", "even"]);
        for m in 0..100u32 {
            t.remove(m);
        }
        assert_eq!(t.topic_count(), 0);
        assert!(t.by_member.is_empty(), "no member entry is left behind");
        assert_eq!(t.subscribe(1, "all"), Subscribed::FirstOfTopic);
        assert_eq!(t.unsubscribe(1, "all"), Unsubscribed::LastOfTopic);
        assert!(t.by_member.is_empty());
    }

    #[test]
    fn topics_match_exactly() {
        let mut t = Topics::default();
        t.subscribe(1u8, "chat/room");
        assert!(t.subscribers("chat/*").is_empty());
        assert!(t.subscribers("chat").is_empty());
        assert!(t.subscribers("Chat/room").is_empty());
        assert_eq!(t.subscribers("chat/room"), &[1]);
    }
}
