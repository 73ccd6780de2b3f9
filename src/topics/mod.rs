//! Topics: named groups of subscribers. A send to a topic is recorded as a
//! durable fan-out and worked through its subscribers in batches by the
//! [`FanoutRunner`], each batch planned and committed by the one producer in
//! one transaction (see `producer::fanout`).

mod message;
mod runner;

pub use message::TopicMessage;
pub use runner::{progress, FanoutRunner, FanoutWake, FANOUT_POLL_INTERVAL};

use crate::persistence::StoreError;
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum TopicsError {
    /// A stored fan-out message that does not parse back.
    #[error("stored topic message: {0}")]
    Message(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `[topics]` settings (`HERALD_TOPICS__*`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct TopicSettings {
    /// Subscribers planned and committed in one transaction.
    pub fanout_batch: u64,
    /// How long a runner holds a fan-out while it writes one batch; a runner
    /// that dies leaves its batch to be written again this long after.
    pub fanout_lease_secs: u64,
    /// Most `user_ids` one subscribe or unsubscribe request may name.
    pub max_ids_per_request: usize,
}

impl Default for TopicSettings {
    fn default() -> Self {
        Self {
            fanout_batch: 500,
            fanout_lease_secs: 30,
            max_ids_per_request: 1000,
        }
    }
}

impl TopicSettings {
    /// Why these settings cannot run, naming the key.
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if !(1..=10_000).contains(&self.fanout_batch) {
            return Some(("topics.fanout_batch", "must be between 1 and 10000"));
        }
        if self.fanout_lease_secs == 0 {
            return Some(("topics.fanout_lease_secs", "must be at least 1"));
        }
        if !(1..=10_000).contains(&self.max_ids_per_request) {
            return Some(("topics.max_ids_per_request", "must be between 1 and 10000"));
        }
        None
    }
}
