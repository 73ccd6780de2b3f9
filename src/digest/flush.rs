//! The digest flush: a durable loop over due buckets. Each is claimed with a
//! fenced lease, sent through the one producer under a request id derived
//! from the bucket (so a retry after a crash is the same send), then
//! recorded in its events' audit and removed.

use super::DigestSettings;
use crate::persistence::digests::{claim_due, finish, Claimed};
use crate::persistence::StoreError;
use crate::producer::{Content, Intent, Producer, ProducerError};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often due buckets are looked for: a digest is sent at most this late.
pub const FLUSH_POLL_INTERVAL: Duration = Duration::from_millis(500);

pub struct DigestFlusher {
    db: DatabaseConnection,
    producer: Arc<Producer>,
    settings: DigestSettings,
}

impl DigestFlusher {
    pub fn new(db: DatabaseConnection, producer: Arc<Producer>, settings: &DigestSettings) -> Self {
        Self {
            db,
            producer,
            settings: settings.clone(),
        }
    }

    /// Flushes the buckets due by `now` (at most `flush_batch`); returns how many were claimed.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let lease =
            chrono::Duration::seconds(i64::try_from(self.settings.lease_secs).unwrap_or(30));
        let claimed = claim_due(&self.db, now, lease, self.settings.flush_batch).await?;
        let n = claimed.len();
        for bucket in claimed {
            self.flush(bucket).await?;
        }
        Ok(n)
    }

    #[tracing::instrument(skip_all, fields(bucket = %bucket.id, items = bucket.items.len()))]
    async fn flush(&self, bucket: Claimed) -> Result<(), StoreError> {
        let Some(plan) = bucket.plan.clone() else {
            tracing::error!("digest bucket with an unreadable plan; dropped");
            let flush = json!({"bucket": bucket.id, "error": "the stored plan is unreadable"});
            finish(&self.db, &bucket, flush).await?;
            return Ok(());
        };
        let items: Vec<Value> = bucket.items.iter().map(|(_, p)| p.clone()).collect();
        let count = items.len();
        let event_type = items.first().and_then(|i| i.get("event_type")).cloned();
        let intent = Intent {
            user: bucket.user.clone(),
            channels: plan.channels,
            category: plan.category,
            priority: plan.priority,
            content: Content::Template {
                code: plan.template_code,
                vars: json!({"items": items, "count": count, "digest_key": bucket.key, "event_type": event_type}),
                data: json!({"event_type": event_type, "digest": {"count": count}}),
                in_app_overrides: (None, None, None),
            },
            rule_id: Some(bucket.rule_id),
            request_id: Some(format!("digest:{}", bucket.id)),
            email: plan.email,
            phone: plan.phone,
        };
        let flush = match self.producer.send(intent).await {
            Ok(sent) => json!({
                "bucket": bucket.id, "notification_id": sent.notification_id, "count": count,
                "flushed_at": Utc::now(), "channels": sent.outcomes,
            }),
            // The database is away: the lease runs out and the bucket is claimed again.
            Err(ProducerError::Store(e)) => return Err(e),
            Err(other) => {
                tracing::warn!(error = %other, "digest could not be sent");
                json!({"bucket": bucket.id, "error": other.to_string(), "count": count})
            }
        };
        if !finish(&self.db, &bucket, flush).await? {
            tracing::info!("digest bucket was taken over by another flusher");
        }
        Ok(())
    }

    /// Steps until `shutdown` turns true. A full batch is followed at once by another.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let batch = usize::try_from(self.settings.flush_batch).unwrap_or(usize::MAX);
        crate::shutdown::step_until_stopped(
            "digest flush",
            FLUSH_POLL_INTERVAL,
            batch,
            shutdown,
            || self.step(Utc::now()),
        )
        .await
    }
}
