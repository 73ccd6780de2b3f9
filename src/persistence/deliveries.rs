//! The delivery outbox: claiming due rows and recording each attempt.

use super::StoreResult;
use chrono::{DateTime, Utc};
use entity::{deliveries as d, delivery_attempts as a};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, Statement,
};
use uuid::Uuid;

/// Claims up to `limit` due deliveries: `pending` ones whose time has come, and
/// `sending` ones whose lease ran out (their sender died mid-send). A claim
/// sets `sending` with a lease until `lease_until`. On PostgreSQL the rows are
/// picked with `FOR UPDATE SKIP LOCKED`, so several nodes never claim the same one.
pub async fn claim_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<d::Model>> {
    let backend = db.get_database_backend();
    let (sql, values) = match backend {
        DbBackend::Postgres => (
            r#"UPDATE deliveries SET status = 'sending', next_attempt_at = $1, updated_at = $2
               WHERE id IN (SELECT id FROM deliveries
                            WHERE status IN ('pending', 'sending') AND next_attempt_at <= $2
                            ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED)
               RETURNING *"#,
            vec![lease_until.into(), now.into(), (limit as i64).into()],
        ),
        _ => (
            r#"UPDATE deliveries SET status = 'sending', next_attempt_at = ?, updated_at = ?
               WHERE id IN (SELECT id FROM deliveries
                            WHERE status IN ('pending', 'sending') AND next_attempt_at <= ?
                            ORDER BY next_attempt_at LIMIT ?)
               RETURNING *"#,
            vec![
                lease_until.into(),
                now.into(),
                now.into(),
                (limit as i64).into(),
            ],
        ),
    };
    Ok(d::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?)
}

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
    /// The device token is dead; the device is deactivated.
    InvalidToken {
        error: String,
    },
    /// Not sent: the user's preferences, checked at send time, turn it off.
    Suppressed {
        reason: String,
    },
    /// Not tried (the provider's circuit is open): back to pending, no attempt spent.
    Deferred {
        reason: String,
        at: DateTime<Utc>,
    },
}

/// Records an attempt and moves the delivery on. Only a row still `sending`
/// is changed, so a stale sender cannot overwrite a newer outcome.
pub async fn settle(
    db: &impl ConnectionTrait,
    delivery: &d::Model,
    outcome: &Settle,
    latency_ms: i64,
) -> StoreResult<()> {
    let now = Utc::now();
    if let Settle::Deferred { reason, at } = outcome {
        d::Entity::update_many()
            .col_expr(d::Column::Status, Expr::value("pending"))
            .col_expr(d::Column::NextAttemptAt, Expr::value(*at))
            .col_expr(d::Column::LastError, Expr::value(reason.clone()))
            .col_expr(d::Column::UpdatedAt, Expr::value(now))
            .filter(d::Column::Id.eq(delivery.id))
            .filter(d::Column::Status.eq("sending"))
            .exec(db)
            .await?;
        return Ok(());
    }
    let attempt = delivery.attempts + 1;
    let (status, error, provider_id, next, label) = match outcome {
        Settle::Sent {
            provider_message_id,
        } => ("sent", None, provider_message_id.clone(), now, "sent"),
        Settle::Retry { error, at } => ("pending", Some(error.clone()), None, *at, "retry"),
        Settle::Failed { error } => ("dead", Some(error.clone()), None, now, "failed"),
        Settle::InvalidToken { error } => ("dead", Some(error.clone()), None, now, "invalid_token"),
        Settle::Suppressed { reason } => {
            ("suppressed", Some(reason.clone()), None, now, "suppressed")
        }
        Settle::Deferred { .. } => return Ok(()),
    };
    let mut upd = d::Entity::update_many()
        .col_expr(d::Column::Status, Expr::value(status))
        .col_expr(d::Column::Attempts, Expr::value(attempt))
        .col_expr(d::Column::NextAttemptAt, Expr::value(next))
        .col_expr(d::Column::LastError, Expr::value(error.clone()))
        .col_expr(d::Column::UpdatedAt, Expr::value(now))
        .filter(d::Column::Id.eq(delivery.id))
        .filter(d::Column::Status.eq("sending"));
    if provider_id.is_some() {
        upd = upd.col_expr(
            d::Column::ProviderMessageId,
            Expr::value(provider_id.clone()),
        );
    }
    upd.exec(db).await?;
    a::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(delivery.id),
        attempt: Set(attempt),
        outcome: Set(label.to_string()),
        error: Set(error),
        provider_message_id: Set(provider_id),
        latency_ms: Set(latency_ms),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn attempts(db: &impl ConnectionTrait, delivery_id: Uuid) -> StoreResult<Vec<a::Model>> {
    Ok(a::Entity::find()
        .filter(a::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(a::Column::Attempt)
        .all(db)
        .await?)
}

pub async fn for_notification(
    db: &impl ConnectionTrait,
    notification_id: Uuid,
) -> StoreResult<Vec<d::Model>> {
    Ok(d::Entity::find()
        .filter(d::Column::NotificationId.eq(notification_id))
        .order_by_asc(d::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Marks the in-app deliveries of `ids` (the user's own) as delivered: a client acked them.
pub async fn mark_in_app_delivered(
    db: &impl ConnectionTrait,
    user: &crate::domain::UserId,
    ids: &[Uuid],
) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let res = d::Entity::update_many()
        .col_expr(d::Column::Status, Expr::value("delivered"))
        .col_expr(d::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(d::Column::UserId.eq(user.as_str()))
        .filter(d::Column::Channel.eq("in_app"))
        .filter(d::Column::NotificationId.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Applies a provider's status callback to the delivery it names. Returns false when no delivery matches.
pub async fn apply_callback(
    db: &impl ConnectionTrait,
    provider_message_id: &str,
    channel: Option<&str>,
    status: &str,
    detail: Option<String>,
) -> StoreResult<bool> {
    let mut q = d::Entity::find().filter(d::Column::ProviderMessageId.eq(provider_message_id));
    if let Some(c) = channel {
        q = q.filter(d::Column::Channel.eq(c));
    }
    let Some(row) = q.one(db).await? else {
        return Ok(false);
    };
    let now = Utc::now();
    d::Entity::update_many()
        .col_expr(d::Column::Status, Expr::value(status))
        .col_expr(d::Column::UpdatedAt, Expr::value(now))
        .filter(d::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    a::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(row.id),
        attempt: Set(row.attempts),
        outcome: Set(format!("callback:{status}")),
        error: Set(detail),
        provider_message_id: Set(Some(provider_message_id.to_string())),
        latency_ms: Set(0),
        created_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(true)
}

/// How many `channel` deliveries `user` got since `since` (for the per-user throttle).
pub async fn count_since(
    db: &impl ConnectionTrait,
    user: &str,
    channel: &str,
    since: DateTime<Utc>,
) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(d::Entity::find()
        .filter(d::Column::UserId.eq(user))
        .filter(d::Column::Channel.eq(channel))
        .filter(d::Column::CreatedAt.gte(since))
        .count(db)
        .await?)
}
