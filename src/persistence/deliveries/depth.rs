//! The outbox's depth for `/metrics`: one grouped count and one lookup of the
//! oldest due row. Both filter on the waiting statuses, so the claim's partial
//! index (`idx_deliveries_claim`, waiting rows only) serves them, however much
//! history the table holds.

use super::super::StoreResult;
use crate::domain::{Channel, DeliveryStatus};
use chrono::{DateTime, Utc};
use entity::deliveries as d;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The rows still to be sent, by channel and status, and the oldest one already due.
#[derive(Clone, Debug, Default)]
pub struct OutboxDepth {
    pub counts: Vec<(Channel, DeliveryStatus, u64)>,
    pub oldest_due: Option<DateTime<Utc>>,
}

/// The statuses a delivery waits in before a provider has taken it.
pub const WAITING: [DeliveryStatus; 2] = [DeliveryStatus::Pending, DeliveryStatus::Sending];

pub async fn outbox_depth(db: &DatabaseConnection, now: DateTime<Utc>) -> StoreResult<OutboxDepth> {
    let rows: Vec<(String, String, i64)> = d::Entity::find()
        .select_only()
        .column(d::Column::Channel)
        .column(d::Column::Status)
        .column_as(d::Column::Id.count(), "n")
        .filter(d::Column::Status.is_in(WAITING.map(|s| s.as_str())))
        .group_by(d::Column::Channel)
        .group_by(d::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    // A row that does not parse is the claim's to report; it is left out of the gauges.
    let counts = rows
        .into_iter()
        .filter_map(|(channel, status, n)| {
            let channel = Channel::parse(&channel).ok()?;
            let status = DeliveryStatus::parse(&status).ok()?;
            Some((channel, status, u64::try_from(n).unwrap_or_default()))
        })
        .collect();
    let oldest_due: Option<DateTime<Utc>> = d::Entity::find()
        .select_only()
        .column(d::Column::NextAttemptAt)
        .filter(d::Column::Status.eq(DeliveryStatus::Pending.as_str()))
        .filter(d::Column::NextAttemptAt.lte(now))
        .order_by_asc(d::Column::NextAttemptAt)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(OutboxDepth { counts, oldest_due })
}
