//! Recording what one attempt came to, fenced by the lease token.

use super::{Delivery, StoreError, StoreResult};
use crate::domain::DeliveryStatus;
use chrono::{DateTime, Utc};
use entity::{deliveries as d, delivery_attempts as a};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};
use uuid::Uuid;

/// What one attempt came to.
#[derive(Clone, Debug)]
pub enum Settle {
    Sent {
        provider_message_id: Option<String>,
    },
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    Failed {
        error: String,
    },
    /// The device token is dead; the device was deactivated.
    InvalidToken {
        error: String,
    },
    /// Not sent: the user's preferences, checked at send time, turn it off.
    Suppressed {
        reason: String,
    },
    /// Not tried (an open circuit, quiet hours): back to pending, no attempt spent.
    Deferred {
        reason: String,
        at: DateTime<Utc>,
    },
}

impl Settle {
    fn status(&self) -> DeliveryStatus {
        match self {
            Self::Sent { .. } => DeliveryStatus::Sent,
            Self::Retry { .. } | Self::Deferred { .. } => DeliveryStatus::Pending,
            Self::Failed { .. } | Self::InvalidToken { .. } => DeliveryStatus::Dead,
            Self::Suppressed { .. } => DeliveryStatus::Suppressed,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Sent { .. } => "sent",
            Self::Retry { .. } => "retry",
            Self::Failed { .. } => "failed",
            Self::InvalidToken { .. } => "invalid_token",
            Self::Suppressed { .. } => "suppressed",
            Self::Deferred { .. } => "deferred",
        }
    }

    fn error(&self) -> Option<String> {
        match self {
            Self::Sent { .. } => None,
            Self::Retry { error, .. } | Self::Failed { error } | Self::InvalidToken { error } => {
                Some(error.clone())
            }
            Self::Suppressed { reason } | Self::Deferred { reason, .. } => Some(reason.clone()),
        }
    }
}

/// Whether the outcome was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settled {
    Applied,
    /// The lease had been taken over: the outcome was refused (and logged as an attempt).
    Stale,
}

/// Records an attempt and moves the delivery on, in one transaction. Only the
/// holder of the current lease can do it: the update requires the row to be
/// `sending` with this sender's token.
pub async fn settle(
    db: &DatabaseConnection,
    delivery: &Delivery,
    outcome: &Settle,
    latency_ms: i64,
) -> StoreResult<Settled> {
    let lease = delivery
        .lease
        .ok_or_else(|| StoreError::Corrupt(format!("delivery {} has no lease", delivery.id)))?;
    let to = outcome.status();
    if !DeliveryStatus::Sending.can_move_to(to) {
        return Err(StoreError::Corrupt(format!("sending cannot become {to}")));
    }
    let now = Utc::now();
    let deferred = matches!(outcome, Settle::Deferred { .. });
    let attempt = if deferred {
        delivery.attempts
    } else {
        delivery.attempts + 1
    };
    let next = match outcome {
        Settle::Retry { at, .. } | Settle::Deferred { at, .. } => *at,
        _ => now,
    };
    let provider_id = match outcome {
        Settle::Sent {
            provider_message_id,
        } => provider_message_id.clone(),
        _ => None,
    };
    // The update comes first: SQLite transactions must write before they read.
    let txn = db.begin().await?;
    let mut upd = d::Entity::update_many()
        .col_expr(d::Column::Status, Expr::value(to.as_str()))
        .col_expr(d::Column::Attempts, Expr::value(attempt))
        .col_expr(d::Column::NextAttemptAt, Expr::value(next))
        .col_expr(d::Column::LastError, Expr::value(outcome.error()))
        .col_expr(d::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
        .col_expr(d::Column::UpdatedAt, Expr::value(now))
        .filter(d::Column::Id.eq(delivery.id))
        .filter(d::Column::Status.eq(DeliveryStatus::Sending.as_str()))
        .filter(d::Column::LeaseToken.eq(lease.token));
    if provider_id.is_some() {
        upd = upd.col_expr(
            d::Column::ProviderMessageId,
            Expr::value(provider_id.clone()),
        );
    }
    let applied = upd.exec(&txn).await?.rows_affected == 1;
    let (label, error) = if applied {
        (outcome.label().to_string(), outcome.error())
    } else {
        (
            "stale_lease".to_string(),
            Some(format!(
                "refused: the lease was taken over; this sender's outcome was {}{}",
                outcome.label(),
                outcome
                    .error()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )),
        )
    };
    // Deferrals spend no attempt and leave no history; stale outcomes do.
    if !deferred || !applied {
        a::ActiveModel {
            id: Set(Uuid::now_v7()),
            delivery_id: Set(delivery.id),
            attempt: Set(delivery.attempts + 1),
            outcome: Set(label),
            error: Set(error),
            provider_message_id: Set(provider_id),
            latency_ms: Set(latency_ms),
            created_at: Set(now),
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(if applied {
        Settled::Applied
    } else {
        Settled::Stale
    })
}
