//! The realtime bus: how finished frames travel from the pipeline to whichever
//! node holds a user's sessions. In-process by default; Redis pub/sub between
//! nodes. The pipeline only sees this trait.

use crate::domain::UserId;
use bytestring::ByteString;

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
