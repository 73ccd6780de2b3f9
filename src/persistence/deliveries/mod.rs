//! The delivery outbox: typed rows, fenced claims, leases and lookups.
//!
//! Every claim stamps a fresh lease token on the rows it takes. A sender
//! renews its lease while the send is in flight and settles with the same
//! token, so once a lease has been taken over the stale sender can neither
//! renew nor settle.

mod callbacks;
pub mod depth;
mod release;
mod settle;

pub use callbacks::{apply_callback, CallbackResult};
pub use release::release;
pub use settle::{settle, Settle, Settled};

use super::{StoreError, StoreResult};
use crate::domain::{Category, Channel, DeliveryContent, DeliveryStatus, Priority, UserId};
use chrono::{DateTime, Utc};
use entity::{deliveries as d, delivery_attempts as a};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, Statement, Value,
};
use uuid::Uuid;

/// A claim's proof of ownership: the token and how long it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    pub token: Uuid,
    pub until: DateTime<Utc>,
}

/// A delivery row, parsed: what producers wrote and providers read.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: Uuid,
    pub event_id: Option<String>,
    pub notification_id: Option<Uuid>,
    pub user: Option<UserId>,
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub content: DeliveryContent,
    pub category: Category,
    pub priority: Priority,
    pub attempts: i32,
    pub lease: Option<Lease>,
    pub provider_message_id: Option<String>,
    /// The `traceparent` its send continues, when its unit had a trace.
    pub traceparent: Option<crate::domain::TraceParent>,
}

impl Delivery {
    /// Parses a stored row; a row that does not parse is reported, never guessed at.
    pub fn from_model(m: &d::Model) -> StoreResult<Self> {
        let corrupt = |what: &str, e: &dyn std::fmt::Display| {
            StoreError::Corrupt(format!("delivery {}: {what}: {e}", m.id))
        };
        let content: DeliveryContent =
            serde_json::from_str(&m.content).map_err(|e| corrupt("content", &e))?;
        let channel = Channel::parse(&m.channel).map_err(|e| corrupt("channel", &e))?;
        if content.channel() != channel {
            return Err(corrupt(
                "content",
                &format!("{} content", content.channel()),
            ));
        }
        Ok(Self {
            id: m.id,
            event_id: m.event_id.clone(),
            notification_id: m.notification_id,
            user: m
                .user_id
                .clone()
                .map(UserId::parse)
                .transpose()
                .map_err(|e| corrupt("user", &e))?,
            channel,
            status: DeliveryStatus::parse(&m.status).map_err(|e| corrupt("status", &e))?,
            content,
            category: Category::parse(m.category.clone()).map_err(|e| corrupt("category", &e))?,
            priority: Priority::from_stored(&m.priority),
            attempts: m.attempts,
            lease: m.lease_token.map(|token| Lease {
                token,
                until: m.next_attempt_at,
            }),
            provider_message_id: m.provider_message_id.clone(),
            // A kept context that no longer parses only loses the trace link.
            traceparent: m
                .traceparent
                .as_deref()
                .and_then(|t| crate::domain::TraceParent::parse(t).ok()),
        })
    }
}

/// A claimed row that could not be parsed: the scheduler marks it dead with the reason.
#[derive(Debug)]
pub struct CorruptRow {
    pub id: Uuid,
    pub lease: Lease,
    pub reason: String,
}

/// Which channels a claim takes rows for.
pub enum ChannelFilter<'a> {
    Only(Channel),
    /// Rows no configured channel actor will take.
    Except(&'a [Channel]),
}

/// Claims up to `limit` due rows: `pending` ones whose time has come, and
/// `sending` ones whose lease ran out (their sender died). The claim stamps a
/// fresh lease token; on PostgreSQL rows are picked `FOR UPDATE SKIP LOCKED`,
/// so several nodes never claim the same row at once.
pub async fn claim(
    db: &DatabaseConnection,
    channels: ChannelFilter<'_>,
    now: DateTime<Utc>,
    lease_for: chrono::Duration,
    limit: u64,
) -> StoreResult<Vec<Result<Delivery, CorruptRow>>> {
    let backend = db.get_database_backend();
    let lease = Lease {
        token: Uuid::now_v7(),
        until: now + lease_for,
    };
    let pg = backend == DbBackend::Postgres;
    // SQLite binds `?` in textual order: values are pushed in the order they appear below.
    let mut values: Vec<Value> = vec![
        lease.token.into(),
        lease.until.into(),
        now.into(),
        now.into(),
    ];
    let arg = |v: Value, values: &mut Vec<Value>| {
        values.push(v);
        if pg {
            format!("${}", values.len())
        } else {
            "?".to_string()
        }
    };
    let channel_sql = match channels {
        ChannelFilter::Only(c) => format!("channel = {}", arg(c.as_str().into(), &mut values)),
        ChannelFilter::Except([]) => "1 = 1".to_string(),
        ChannelFilter::Except(list) => {
            let marks: Vec<String> = list
                .iter()
                .map(|c| arg(c.as_str().into(), &mut values))
                .collect();
            format!("channel NOT IN ({})", marks.join(", "))
        }
    };
    let limit_mark = arg((limit as i64).into(), &mut values);
    let (p1, p2, p3, p4) = if pg {
        ("$1", "$2", "$3", "$4")
    } else {
        ("?", "?", "?", "?")
    };
    let sql = format!(
        "UPDATE deliveries SET status = 'sending', lease_token = {p1}, next_attempt_at = {p2}, updated_at = {p3}
         WHERE id IN (SELECT id FROM deliveries
                      WHERE status IN ('pending', 'sending') AND next_attempt_at <= {p4} AND {channel_sql}
                      ORDER BY next_attempt_at LIMIT {limit_mark}{})
         RETURNING *",
        if pg { " FOR UPDATE SKIP LOCKED" } else { "" }
    );
    let rows = d::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok(rows
        .iter()
        .map(|m| {
            Delivery::from_model(m).map_err(|e| CorruptRow {
                id: m.id,
                lease,
                reason: e.to_string(),
            })
        })
        .collect())
}

/// Extends a lease while its send is in flight. False means the lease was
/// taken over (or the row settled): the holder no longer owns the delivery.
pub async fn renew(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    until: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = d::Entity::update_many()
        .col_expr(d::Column::NextAttemptAt, Expr::value(until))
        .filter(d::Column::Id.eq(id))
        .filter(d::Column::LeaseToken.eq(token))
        .filter(d::Column::Status.eq(DeliveryStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn attempts(db: &impl ConnectionTrait, delivery_id: Uuid) -> StoreResult<Vec<a::Model>> {
    Ok(a::Entity::find()
        .filter(a::Column::DeliveryId.eq(delivery_id))
        .order_by_asc(a::Column::Attempt)
        .order_by_asc(a::Column::CreatedAt)
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

/// Every delivery a `/send` with this request id produced, for its user.
pub async fn for_request(
    db: &impl ConnectionTrait,
    user: &UserId,
    request_id: &str,
) -> StoreResult<Vec<d::Model>> {
    Ok(d::Entity::find()
        .filter(d::Column::RequestId.eq(request_id))
        .filter(d::Column::UserId.eq(user.as_str()))
        .order_by_asc(d::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Marks the in-app deliveries of `ids` (the user's own) delivered: a client
/// acked them. Only `sent` ones move, so an ack never undoes a later status.
pub async fn mark_in_app_delivered(
    db: &impl ConnectionTrait,
    user: &UserId,
    ids: &[Uuid],
) -> StoreResult<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    debug_assert!(DeliveryStatus::Sent.can_move_to(DeliveryStatus::Delivered));
    let res = db
        .execute_raw(in_app_ack_statement(db.get_database_backend(), user, ids))
        .await?;
    Ok(res.rows_affected())
}

/// The statement behind [`mark_in_app_delivered`], public so a test can
/// EXPLAIN exactly what runs. Every client ack is this query: it must find
/// its rows through `idx_deliveries_notification` (ids come from the
/// client; a scan per ack frame would let one socket load the table), and
/// it is scoped to the acking user.
pub fn in_app_ack_statement(backend: DbBackend, user: &UserId, ids: &[Uuid]) -> Statement {
    use sea_orm::QueryTrait;
    d::Entity::update_many()
        .col_expr(
            d::Column::Status,
            Expr::value(DeliveryStatus::Delivered.as_str()),
        )
        .col_expr(d::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(d::Column::NotificationId.is_in(ids.iter().copied()))
        .filter(d::Column::UserId.eq(user.as_str()))
        .filter(d::Column::Channel.eq(Channel::InApp.as_str()))
        .filter(d::Column::Status.eq(DeliveryStatus::Sent.as_str()))
        .build(backend)
}

/// How many push deliveries `user` got since `since` (for the per-user throttle).
pub async fn pushes_since(
    db: &impl ConnectionTrait,
    user: &UserId,
    since: DateTime<Utc>,
) -> StoreResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(d::Entity::find()
        // A literal, not a parameter: it is the partial index's own condition.
        .filter(Expr::cust(PUSH_ROWS))
        .filter(d::Column::UserId.eq(user.as_str()))
        .filter(d::Column::CreatedAt.gte(since))
        .count(db)
        .await?)
}

/// The condition of `idx_deliveries_push_throttle`.
pub const PUSH_ROWS: &str = "channel = 'push'";

/// Marks a claimed row that does not parse dead, with the reason, if its lease is still ours.
pub async fn bury_corrupt(db: &impl ConnectionTrait, row: &CorruptRow) -> StoreResult<()> {
    d::Entity::update_many()
        .col_expr(
            d::Column::Status,
            Expr::value(DeliveryStatus::Dead.as_str()),
        )
        .col_expr(d::Column::LastError, Expr::value(Some(row.reason.clone())))
        .col_expr(d::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
        .col_expr(d::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(d::Column::Id.eq(row.id))
        .filter(d::Column::LeaseToken.eq(row.lease.token))
        .exec(db)
        .await?;
    Ok(())
}
