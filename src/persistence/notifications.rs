//! The in-app feed: inserts with a gap-free per-user `seq`, cursor pages,
//! read state and soft deletes. Every query is scoped by user id, so one
//! user's ids can never reach another's rows.

use super::{parse_json, StoreResult};
use crate::domain::{NotificationView, Priority, UserId};
use chrono::Utc;
use entity::{notifications as n, users as u};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// The outcome of an idempotent insert.
#[derive(Debug, Clone)]
pub struct Inserted {
    pub view: NotificationView,
    /// False when the `request_id` had been seen: `view` is the earlier notification.
    pub created: bool,
}

pub fn to_view(m: &n::Model) -> StoreResult<NotificationView> {
    Ok(NotificationView {
        id: m.id,
        seq: m.seq,
        category: m.category.clone(),
        title: m.title.clone(),
        body: m.body.clone(),
        action_url: m.action_url.clone(),
        data: parse_json("data", &m.data)?,
        priority: Priority::from_stored(&m.priority),
        created_at: m.created_at,
        read_at: m.read_at,
    })
}

fn views(rows: Vec<n::Model>) -> StoreResult<Vec<NotificationView>> {
    rows.iter().map(to_view).collect()
}

fn owned_by(user: &UserId) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(n::Column::UserId.eq(user.as_str()))
        .add(n::Column::DeletedAt.is_null())
}

/// A page of the feed, newest first. `before_seq` is the cursor.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub limit: u64,
    pub before_seq: Option<i64>,
    pub unread_only: bool,
    pub category: Option<String>,
}

pub async fn list(
    db: &impl ConnectionTrait,
    user: &UserId,
    q: &ListQuery,
) -> StoreResult<Vec<NotificationView>> {
    let mut sel = n::Entity::find().filter(owned_by(user));
    if let Some(before) = q.before_seq {
        sel = sel.filter(n::Column::Seq.lt(before));
    }
    if q.unread_only {
        sel = sel.filter(n::Column::ReadAt.is_null());
    }
    if let Some(cat) = &q.category {
        sel = sel.filter(n::Column::Category.eq(cat.as_str()));
    }
    views(
        sel.order_by_desc(n::Column::Seq)
            .limit(q.limit)
            .all(db)
            .await?,
    )
}

pub async fn get(
    db: &impl ConnectionTrait,
    user: &UserId,
    id: Uuid,
) -> StoreResult<Option<NotificationView>> {
    let row = n::Entity::find_by_id(id)
        .filter(owned_by(user))
        .one(db)
        .await?;
    row.as_ref().map(to_view).transpose()
}

/// Whether a notification with this id was ever stored (for admin lookups, any user).
pub async fn exists(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<bool> {
    Ok(n::Entity::find_by_id(id).count(db).await? > 0)
}

pub async fn unread_count(db: &impl ConnectionTrait, user: &UserId) -> StoreResult<u64> {
    Ok(n::Entity::find()
        .filter(owned_by(user))
        .filter(n::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Of `ids`, the ones that are this user's live notifications.
async fn owned_ids(
    db: &impl ConnectionTrait,
    user: &UserId,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(n::Entity::find()
        .select_only()
        .column(n::Column::Id)
        .filter(owned_by(user))
        .filter(n::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?)
}

/// Marks `ids` read (or unread) and returns the ids that were the user's.
pub async fn set_read(
    db: &impl ConnectionTrait,
    user: &UserId,
    ids: &[Uuid],
    read: bool,
) -> StoreResult<Vec<Uuid>> {
    let owned = owned_ids(db, user, ids).await?;
    if owned.is_empty() {
        return Ok(owned);
    }
    let mut upd = n::Entity::update_many()
        .filter(owned_by(user))
        .filter(n::Column::Id.is_in(owned.iter().copied()));
    upd = if read {
        upd.col_expr(n::Column::ReadAt, Expr::value(Utc::now()))
            .filter(n::Column::ReadAt.is_null())
    } else {
        upd.col_expr(
            n::Column::ReadAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
    };
    upd.exec(db).await?;
    Ok(owned)
}

pub async fn mark_all_read(db: &impl ConnectionTrait, user: &UserId) -> StoreResult<u64> {
    let res = n::Entity::update_many()
        .col_expr(n::Column::ReadAt, Expr::value(Utc::now()))
        .filter(owned_by(user))
        .filter(n::Column::ReadAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Soft-deletes `ids` and returns the ones that were the user's.
pub async fn delete(
    db: &impl ConnectionTrait,
    user: &UserId,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    let owned = owned_ids(db, user, ids).await?;
    if owned.is_empty() {
        return Ok(owned);
    }
    n::Entity::update_many()
        .col_expr(n::Column::DeletedAt, Expr::value(Utc::now()))
        .filter(owned_by(user))
        .filter(n::Column::Id.is_in(owned.iter().copied()))
        .exec(db)
        .await?;
    Ok(owned)
}

/// The user's seq high-water mark (0 for an unknown user).
pub async fn last_seq(db: &impl ConnectionTrait, user: &UserId) -> StoreResult<i64> {
    let seq: Option<i64> = u::Entity::find_by_id(user.as_str().to_string())
        .select_only()
        .column(u::Column::LastSeq)
        .into_tuple()
        .one(db)
        .await?;
    Ok(seq.unwrap_or(0))
}

/// Live notifications with `after < seq <= up_to`, oldest first, at most `limit`.
pub async fn range(
    db: &impl ConnectionTrait,
    user: &UserId,
    after: i64,
    up_to: i64,
    limit: u64,
) -> StoreResult<Vec<NotificationView>> {
    views(
        n::Entity::find()
            .filter(owned_by(user))
            .filter(n::Column::Seq.gt(after))
            .filter(n::Column::Seq.lte(up_to))
            .order_by_asc(n::Column::Seq)
            .limit(limit)
            .all(db)
            .await?,
    )
}
