//! `TopicTable`: the core's pub/sub topic table (`ferrosocket_core::topics`) for one
//! `WebSocketServer`, with the connections as numeric ids JS hands out.

use ferrosocket_core::topics::{Subscribed, Topics, Unsubscribed};
use napi::bindgen_prelude::Uint32Array;
use napi_derive::napi;

/// Topics and their subscribers (ids). Matching is exact.
#[napi]
#[derive(Default)]
pub struct TopicTable {
    topics: Topics<u32>,
}

#[napi]
impl TopicTable {
    #[napi(constructor)]
    pub fn new() -> Self {
        TopicTable::default()
    }

    /// 0 = already subscribed, 1 = subscribed, 2 = subscribed and the topic's first.
    #[napi]
    pub fn subscribe(&mut self, id: u32, topic: String) -> u32 {
        match self.topics.subscribe(id, &topic) {
            Subscribed::Already => 0,
            Subscribed::Added => 1,
            Subscribed::FirstOfTopic => 2,
        }
    }

    /// 0 = was not subscribed, 1 = unsubscribed, 2 = unsubscribed and the topic's last.
    #[napi]
    pub fn unsubscribe(&mut self, id: u32, topic: String) -> u32 {
        match self.topics.unsubscribe(id, &topic) {
            Unsubscribed::NotSubscribed => 0,
            Unsubscribed::Removed => 1,
            Unsubscribed::LastOfTopic => 2,
        }
    }

    /// Drops `id` from every topic; returns the topics left without subscribers.
    #[napi]
    pub fn remove(&mut self, id: u32) -> Vec<String> {
        self.topics.remove(id)
    }

    #[napi]
    pub fn is_subscribed(&self, id: u32, topic: String) -> bool {
        self.topics.is_subscribed(id, &topic)
    }

    #[napi]
    pub fn topics_of(&self, id: u32) -> Vec<String> {
        self.topics.topics_of(id).map(str::to_owned).collect()
    }

    /// The subscribers' ids, copied out once per publish.
    #[napi]
    pub fn subscribers(&self, topic: String) -> Uint32Array {
        Uint32Array::new(self.topics.subscribers(&topic).to_vec())
    }

    #[napi]
    pub fn count(&self, topic: String) -> u32 {
        self.topics.subscribers(&topic).len() as u32
    }
}
