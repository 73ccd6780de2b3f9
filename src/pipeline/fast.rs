//! The fast idempotency path in front of the database guard:
//! `event:{id}:status` = processing | processed | failed, for 24 hours.

use futures_util::future::BoxFuture;

pub const STATUS_TTL_SECS: u64 = 24 * 3600;

pub trait FastIdempotency: Send + Sync + 'static {
    /// The recorded status, if any. Errors mean "unknown": the database guard decides.
    fn status(&self, event_id: &str) -> BoxFuture<'_, Option<String>>;
    fn set_status(&self, event_id: &str, status: &'static str) -> BoxFuture<'_, ()>;
}

pub fn key(event_id: &str) -> String {
    format!("event:{event_id}:status")
}
