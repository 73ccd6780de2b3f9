//! Provider status callbacks. They move a delivery forward only: a late
//! `sent` never overwrites `delivered`.

use super::StoreResult;
use crate::domain::{Channel, DeliveryStatus};
use chrono::Utc;
use entity::{deliveries as d, delivery_attempts as a};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

/// What a callback did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackResult {
    /// No delivery has this provider message id.
    NotFound,
    Applied(DeliveryStatus),
    /// The delivery is already past this status; it stays where it is.
    Ignored(DeliveryStatus),
}

/// Optimistic retries when another callback for the same row lands at once.
const RACE_RETRIES: usize = 3;

/// Applies a provider's status report to the delivery it names, and records it in the history.
pub async fn apply_callback(
    db: &DatabaseConnection,
    provider_message_id: &str,
    channel: Option<Channel>,
    to: DeliveryStatus,
    detail: Option<String>,
) -> StoreResult<CallbackResult> {
    for _ in 0..RACE_RETRIES {
        let mut q = d::Entity::find().filter(d::Column::ProviderMessageId.eq(provider_message_id));
        if let Some(c) = channel {
            q = q.filter(d::Column::Channel.eq(c.as_str()));
        }
        let Some(row) = q.one(db).await? else {
            return Ok(CallbackResult::NotFound);
        };
        let current = DeliveryStatus::parse(&row.status)
            .map_err(|e| super::StoreError::Corrupt(e.to_string()))?;
        let now = Utc::now();
        let txn = db.begin().await?;
        let result = if current.can_confirm(to) {
            let moved = d::Entity::update_many()
                .col_expr(d::Column::Status, Expr::value(to.as_str()))
                .col_expr(d::Column::UpdatedAt, Expr::value(now))
                .filter(d::Column::Id.eq(row.id))
                .filter(d::Column::Status.eq(current.as_str()))
                .exec(&txn)
                .await?;
            if moved.rows_affected != 1 {
                // Another report moved it meanwhile: look again.
                txn.rollback().await?;
                continue;
            }
            CallbackResult::Applied(to)
        } else {
            CallbackResult::Ignored(current)
        };
        let label = match result {
            CallbackResult::Applied(_) => format!("callback:{to}"),
            _ => format!("callback_ignored:{to} (already {current})"),
        };
        a::ActiveModel {
            id: Set(Uuid::now_v7()),
            delivery_id: Set(row.id),
            attempt: Set(row.attempts),
            outcome: Set(label),
            error: Set(detail.clone()),
            provider_message_id: Set(Some(provider_message_id.to_string())),
            latency_ms: Set(0),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
        txn.commit().await?;
        return Ok(result);
    }
    Err(super::StoreError::Conflict(
        "the delivery kept changing under concurrent callbacks".into(),
    ))
}
