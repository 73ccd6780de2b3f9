//! Retention: finished deliveries (and their attempt history) are deleted
//! once they are older than `retention.delivery_days`, so the outbox does not
//! grow without bound. Rows still in flight are never touched, however old.

use crate::domain::DeliveryStatus;
use chrono::{DateTime, Utc};
use entity::{deliveries, delivery_attempts};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect, QueryTrait,
    TransactionTrait,
};
use serde::Deserialize;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// How often [`Retention::run`] prunes.
pub const RETENTION_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Deliveries per statement: large enough to keep up, small enough that one
/// statement never holds the SQLite write lock (or PostgreSQL row locks) long.
const BATCH: u64 = 1_000;

#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct RetentionSettings {
    /// Days a finished delivery is kept; 0 keeps them forever.
    pub delivery_days: u32,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { delivery_days: 30 }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

/// What one [`Retention::step`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub deliveries: u64,
    pub attempts: u64,
}

pub struct Retention {
    db: DatabaseConnection,
    /// None when retention is disabled.
    max_age: Option<chrono::Duration>,
}

/// The smallest UUIDv7 of the millisecond `at`: every id made earlier sorts lower.
pub fn first_id_at(at: DateTime<Utc>) -> Uuid {
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    bytes[6] = 0x70; // version 7
    bytes[8] = 0x80; // RFC 4122 variant
    Uuid::from_bytes(bytes)
}

impl Retention {
    pub fn new(db: DatabaseConnection, settings: &RetentionSettings) -> Self {
        let max_age = (settings.delivery_days > 0)
            .then(|| chrono::Duration::days(i64::from(settings.delivery_days)));
        Self { db, max_age }
    }

    /// Deletes every finished delivery last updated before `now` minus the
    /// configured age, with its attempts, one bounded batch at a time.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<Pruned, RetentionError> {
        let mut pruned = Pruned::default();
        let Some(age) = self.max_age else {
            return Ok(pruned);
        };
        let cutoff = now - age;
        loop {
            // Ids are UUIDv7: rows created before the cutoff are a primary-key range,
            // so no index has to be kept up on every insert for this hourly job.
            let ids: Vec<Uuid> = deliveries::Entity::find()
                .select_only()
                .column(deliveries::Column::Id)
                .filter(deliveries::Column::Id.lt(first_id_at(cutoff)))
                .filter(deliveries::Column::Status.is_in(DeliveryStatus::settled()))
                .filter(deliveries::Column::UpdatedAt.lt(cutoff))
                .limit(BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            if ids.is_empty() {
                break;
            }
            let batch = self.delete_batch(&ids, cutoff).await?;
            pruned.deliveries += batch.deliveries;
            pruned.attempts += batch.attempts;
            if (ids.len() as u64) < BATCH || batch.deliveries == 0 {
                break;
            }
            // Let the group-commit writer in between batches.
            tokio::task::yield_now().await;
        }
        if pruned.deliveries > 0 {
            tracing::info!(
                deliveries = pruned.deliveries,
                attempts = pruned.attempts,
                %cutoff,
                "retention pruned finished deliveries"
            );
        }
        Ok(pruned)
    }

    async fn delete_batch(
        &self,
        ids: &[Uuid],
        cutoff: DateTime<Utc>,
    ) -> Result<Pruned, RetentionError> {
        let txn = self.db.begin().await?;
        // The filter is repeated: a row may have changed since it was picked
        // (a late provider callback), and then it is no longer history.
        let deliveries = deliveries::Entity::delete_many()
            .filter(deliveries::Column::Id.is_in(ids.iter().copied()))
            .filter(deliveries::Column::Status.is_in(DeliveryStatus::settled()))
            .filter(deliveries::Column::UpdatedAt.lt(cutoff))
            .exec(&txn)
            .await?
            .rows_affected;
        // Only the attempts of rows actually deleted above.
        let kept = deliveries::Entity::find()
            .select_only()
            .column(deliveries::Column::Id)
            .filter(deliveries::Column::Id.is_in(ids.iter().copied()))
            .into_query();
        let attempts = delivery_attempts::Entity::delete_many()
            .filter(delivery_attempts::Column::DeliveryId.is_in(ids.iter().copied()))
            .filter(delivery_attempts::Column::DeliveryId.not_in_subquery(kept))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok(Pruned {
            deliveries,
            attempts,
        })
    }

    /// Prunes every [`RETENTION_INTERVAL`] (first at start) until `shutdown`
    /// turns true. A dropped sender can never ask for shutdown, so the loop
    /// then runs until its runtime stops.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        if self.max_age.is_none() {
            tracing::info!("retention disabled (retention.delivery_days = 0)");
            return;
        }
        let mut tick = tokio::time::interval(RETENTION_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut listening = true;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = shutdown.changed(), if listening => {
                    match changed {
                        Ok(()) if *shutdown.borrow() => return,
                        Ok(()) => {}
                        Err(_) => listening = false,
                    }
                    continue;
                }
            }
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.step(Utc::now()).await {
                tracing::warn!(error = %e, "retention step failed; retrying next interval");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_made_before_a_moment_sort_below_its_first_id() {
        let at = Utc::now() - chrono::Duration::days(30);
        let before = Uuid::new_v7(uuid::Timestamp::from_unix(
            uuid::NoContext,
            (at.timestamp() - 1) as u64,
            0,
        ));
        let after = Uuid::now_v7();
        assert!(before < first_id_at(at) && first_id_at(at) < after);
        assert_eq!(first_id_at(at).get_version_num(), 7);
    }
}
