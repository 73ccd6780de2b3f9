//! The Redis bus: a frame is delivered to this node's sessions at once, then
//! published for the other nodes, which ignore their own echoes.
//!
//! - `publisher`: a queue drained in pipelined batches;
//! - `subscriber`: the supervised pub/sub connection (reconnect, resubscribe,
//!   and resync of local sessions, since frames may have been missed);
//! - `presence`: per-node presence records and their heartbeat.

mod layout;
mod presence;
mod publisher;
mod subscriber;

pub use layout::{shard_of, Layout};
pub use presence::{PresenceHeartbeat, PresenceObserver, RedisPresence, HEARTBEAT_FRACTION};
pub use publisher::{Outgoing, Publisher, PUBLISH_BATCH};
pub use subscriber::{Delivered, Subscriber, SubscriberParts};

use super::{Bus, BusMessage, Envelope, NodeId};
use crate::realtime::InProcessBus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Reconnect backoff of the subscriber: first and longest wait.
pub const RECONNECT_MIN: std::time::Duration = std::time::Duration::from_millis(100);
pub const RECONNECT_MAX: std::time::Duration = std::time::Duration::from_secs(5);

/// The `Bus` of a node in a cluster.
pub struct RedisBus {
    local: InProcessBus,
    node: NodeId,
    layout: Layout,
    prefix: String,
    queue: mpsc::Sender<Outgoing>,
    /// Frames dropped because the publish queue was full.
    dropped: Arc<AtomicU64>,
}

impl RedisBus {
    pub fn new(
        local: InProcessBus,
        node: NodeId,
        layout: Layout,
        prefix: String,
        queue: mpsc::Sender<Outgoing>,
    ) -> Self {
        Self {
            local,
            node,
            layout,
            prefix,
            queue,
            dropped: Arc::default(),
        }
    }
}

impl Bus for RedisBus {
    fn publish(&self, msg: BusMessage) {
        let out = Outgoing {
            channel: self.layout.channel(&self.prefix, msg.user_id.as_str()),
            payload: Envelope::encode(&self.node, &msg),
        };
        self.local.publish(msg);
        // A full queue means Redis is far behind: the other nodes' sessions catch the
        // frame up by seq on the user's next notification, so it is counted, not waited for.
        if self.queue.try_send(out).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    dropped = n,
                    "bus publish queue full: frames for other nodes dropped"
                );
            }
        }
    }
}
