//! The realtime bus: how finished frames travel from the pipeline to whichever
//! node holds a user's sessions. In-process by default; Redis pub/sub between
//! nodes (`redis/`). The pipeline, producer and feed only see the [`Bus`] trait.

mod envelope;
mod node;
mod presence;
pub mod redis;
mod settings;
mod start;

pub use envelope::{Envelope, EnvelopeError};
pub use node::NodeId;
pub use presence::{LocalPresence, Presence, PresenceView};
pub use settings::{BusKind, BusSettings};
pub use start::{start, BusHandles, BusParts};

use crate::domain::UserId;
use bytestring::ByteString;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// A serialised frame for every session of one user.
#[derive(Clone, Debug)]
pub struct BusMessage {
    pub user_id: UserId,
    /// Set on notification frames: sessions use it to drop duplicates and fill gaps.
    pub seq: Option<i64>,
    pub frame: ByteString,
}

pub trait Bus: Send + Sync + 'static {
    /// Fire and forget: publishing never waits for sessions.
    fn publish(&self, msg: BusMessage);
}

/// Why the bus could not do something; mapped to HTTP only in `src/routes`.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("the local hub did not answer")]
    Hub,
}

/// Whether this node currently hears the other nodes' frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    Connected,
    /// The pub/sub subscription is down and being re-established; frames from other
    /// nodes are missed meanwhile and recovered from the database once it is back.
    Degraded,
}

/// The bus's kind and link state, shared by the subscriber (writer) and `/ready` (reader).
#[derive(Clone)]
pub struct BusHealth {
    kind: BusKind,
    state: Arc<AtomicU8>,
}

impl BusHealth {
    pub fn new(kind: BusKind) -> Self {
        // Redis starts degraded: it is connected only once its subscription is confirmed.
        let initial = match kind {
            BusKind::Memory => LinkState::Connected,
            BusKind::Redis => LinkState::Degraded,
        };
        Self {
            kind,
            state: Arc::new(AtomicU8::new(initial as u8)),
        }
    }

    pub fn kind(&self) -> BusKind {
        self.kind
    }

    pub fn state(&self) -> LinkState {
        if self.state.load(Ordering::Acquire) == LinkState::Connected as u8 {
            LinkState::Connected
        } else {
            LinkState::Degraded
        }
    }

    pub(crate) fn set(&self, s: LinkState) {
        self.state.store(s as u8, Ordering::Release);
    }
}

/// The "deliveries are due" signal: the pipeline rings it after a commit that
/// created deliveries, and the scheduler wakes instead of waiting for its poll.
#[derive(Clone, Default)]
pub struct DueSignal(std::sync::Arc<tokio::sync::Notify>);

impl DueSignal {
    pub fn ring(&self) {
        self.0.notify_one();
    }

    pub async fn notified(&self) {
        self.0.notified().await
    }
}
