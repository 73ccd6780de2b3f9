//! Scheduled sends: insert (idempotent per user and request id), fenced
//! claims of due rows, and the guarded status changes. Each UPDATE names
//! the status it moves from, so the row's status, not the caller's view of
//! it, decides a race between a cancel and the step that is due.

use super::{StoreError, StoreResult};
use crate::domain::UserId;
use crate::schedule::ScheduleStatus;
use chrono::{DateTime, Utc};
use entity::scheduled_sends as s;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};
use uuid::Uuid;

/// A new row: who, the idempotency key, the stored intent (JSON) and when.
#[derive(Clone, Debug)]
pub struct NewScheduled {
    pub user: UserId,
    pub request_id: String,
    pub intent: String,
    pub due_at: DateTime<Utc>,
}

fn active(new: &NewScheduled, id: Uuid, now: DateTime<Utc>) -> s::ActiveModel {
    s::ActiveModel {
        id: Set(id),
        user_id: Set(new.user.as_str().to_string()),
        request_id: Set(new.request_id.clone()),
        intent: Set(new.intent.clone()),
        due_at: Set(new.due_at),
        status: Set(ScheduleStatus::Pending.as_str().to_string()),
        lease_token: Set(None),
        lease_until: Set(None),
        attempts: Set(0),
        notification_id: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// Inserts the row unless `(user, request_id)` exists; returns the row that
/// holds the key and whether it was there before.
pub async fn insert(db: &impl ConnectionTrait, new: NewScheduled) -> StoreResult<(s::Model, bool)> {
    let id = Uuid::now_v7();
    s::Entity::insert(active(&new, id, Utc::now()))
        .on_conflict_do_nothing_on([s::Column::UserId, s::Column::RequestId])
        .exec_without_returning(db)
        .await?;
    let stored = by_request(db, &new.user, &new.request_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("a scheduled send left no row".into()))?;
    let existed = stored.id != id;
    Ok((stored, existed))
}

/// Inserts rows inside a unit's transaction; a `(user, request_id)` already stored keeps its row.
pub async fn insert_many<'a>(
    db: &impl ConnectionTrait,
    rows: impl Iterator<Item = &'a NewScheduled>,
) -> StoreResult<()> {
    let now = Utc::now();
    let models: Vec<s::ActiveModel> = rows.map(|r| active(r, Uuid::now_v7(), now)).collect();
    if models.is_empty() {
        return Ok(());
    }
    s::Entity::insert_many(models)
        .on_conflict_do_nothing_on([s::Column::UserId, s::Column::RequestId])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn by_request(
    db: &impl ConnectionTrait,
    user: &UserId,
    request_id: &str,
) -> StoreResult<Option<s::Model>> {
    Ok(s::Entity::find()
        .filter(s::Column::UserId.eq(user.as_str()))
        .filter(s::Column::RequestId.eq(request_id))
        .one(db)
        .await?)
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<Option<s::Model>> {
    Ok(s::Entity::find_by_id(id).one(db).await?)
}

/// A user's sends that are still waiting, soonest first.
pub async fn pending_for(
    db: &impl ConnectionTrait,
    user: &UserId,
    limit: u64,
) -> StoreResult<Vec<s::Model>> {
    Ok(s::Entity::find()
        .filter(s::Column::UserId.eq(user.as_str()))
        .filter(s::Column::Status.eq(ScheduleStatus::Pending.as_str()))
        .order_by_asc(s::Column::DueAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// The soonest due time of a row still waiting, so the loop sleeps until then.
pub async fn next_due(db: &impl ConnectionTrait) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(s::Entity::find()
        .filter(s::Column::Status.eq(ScheduleStatus::Pending.as_str()))
        .order_by_asc(s::Column::DueAt)
        .one(db)
        .await?
        .map(|m| m.due_at))
}

/// Claims up to `limit` rows: pending ones that are due and sending ones
/// whose lease ran out (their step died). Each claim stamps a fresh token;
/// on PostgreSQL rows are picked `FOR UPDATE SKIP LOCKED`.
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_for: chrono::Duration,
    limit: u64,
) -> StoreResult<(Uuid, Vec<s::Model>)> {
    debug_assert!(ScheduleStatus::Pending.can_move_to(ScheduleStatus::Sending));
    debug_assert!(ScheduleStatus::Sending.can_move_to(ScheduleStatus::Sending));
    let backend = db.get_database_backend();
    let token = Uuid::now_v7();
    let pg = backend == DbBackend::Postgres;
    let values: Vec<Value> = vec![
        token.into(),
        (now + lease_for).into(),
        now.into(),
        now.into(),
        now.into(),
        (limit as i64).into(),
    ];
    let p: Vec<String> = (1..=values.len())
        .map(|i| if pg { format!("${i}") } else { "?".into() })
        .collect();
    let sql = format!(
        "UPDATE scheduled_sends SET status = 'sending', lease_token = {}, lease_until = {},
                attempts = attempts + 1, updated_at = {}
         WHERE id IN (SELECT id FROM scheduled_sends
                      WHERE (status = 'pending' AND due_at <= {})
                         OR (status = 'sending' AND lease_until <= {})
                      ORDER BY due_at LIMIT {}{})
         RETURNING *",
        p[0],
        p[1],
        p[2],
        p[3],
        p[4],
        p[5],
        if pg { " FOR UPDATE SKIP LOCKED" } else { "" }
    );
    let rows = s::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    Ok((token, rows))
}

/// How a claimed row ends.
pub enum Finish {
    Sent {
        notification_id: Option<Uuid>,
    },
    Failed {
        error: String,
    },
    /// An escalation step that did not run, and why.
    Skipped {
        reason: String,
    },
}

/// Ends a claimed row if its lease is still `token`'s. False: the lease was
/// taken over, and the new holder finishes it.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    how: Finish,
) -> StoreResult<bool> {
    let (status, notification, error) = match how {
        Finish::Sent { notification_id } => (ScheduleStatus::Sent, notification_id, None),
        Finish::Failed { error } => (ScheduleStatus::Failed, None, Some(error)),
        Finish::Skipped { reason } => (ScheduleStatus::Skipped, None, Some(reason)),
    };
    debug_assert!(ScheduleStatus::Sending.can_move_to(status));
    let res = s::Entity::update_many()
        .col_expr(s::Column::Status, Expr::value(status.as_str()))
        .col_expr(s::Column::NotificationId, Expr::value(notification))
        .col_expr(s::Column::LastError, Expr::value(error))
        .col_expr(s::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
        .col_expr(s::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(s::Column::Id.eq(id))
        .filter(s::Column::LeaseToken.eq(token))
        .filter(s::Column::Status.eq(ScheduleStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Cancels the row if it is still pending; false when it had moved on.
pub async fn cancel(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<bool> {
    debug_assert!(ScheduleStatus::Pending.can_move_to(ScheduleStatus::Cancelled));
    let res = s::Entity::update_many()
        .col_expr(
            s::Column::Status,
            Expr::value(ScheduleStatus::Cancelled.as_str()),
        )
        .col_expr(s::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(s::Column::Id.eq(id))
        .filter(s::Column::Status.eq(ScheduleStatus::Pending.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
