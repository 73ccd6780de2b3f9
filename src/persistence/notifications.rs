//! The in-app feed: inserts with a gap-free per-user `seq`, cursor pages,
//! read state and soft deletes. Every query is scoped by user id, so one
//! user's ids can never reach another's rows.

use super::{parse_json, StoreError, StoreResult};
use crate::domain::{InboxStatus, NotificationAction, NotificationView, Priority, UserId};
use chrono::{DateTime, Utc};
use entity::{notifications as n, users as u};
use sea_orm::sea_query::{Expr, ExprTrait};
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
        seen_at: m.seen_at,
        archived_at: m.archived_at,
        snoozed_until: m.snoozed_until,
        tags: stored_list("tags", m.tags.as_deref())?,
        actions: stored_list::<NotificationAction>("actions", m.actions.as_deref())?,
    })
}

/// A JSON array column; NULL is the empty list.
fn stored_list<T: serde::de::DeserializeOwned>(
    field: &str,
    text: Option<&str>,
) -> StoreResult<Vec<T>> {
    match text {
        None => Ok(vec![]),
        Some(t) => {
            serde_json::from_str(t).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))
        }
    }
}

/// A list as its column stores it: NULL when empty, so most inserts write nothing.
pub(crate) fn list_text<T: serde::Serialize>(items: &[T]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    serde_json::to_string(items).ok()
}

fn views(rows: Vec<n::Model>) -> StoreResult<Vec<NotificationView>> {
    rows.iter().map(to_view).collect()
}

pub(crate) fn owned_by(user: &UserId) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(n::Column::UserId.eq(user.as_str()))
        .add(n::Column::DeletedAt.is_null())
}

/// Not snoozed at `now`: never snoozed, or its time has come (the scheduler may not have run yet).
fn awake(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(n::Column::SnoozedUntil.is_null())
        .add(n::Column::SnoozedUntil.lte(now))
}

/// The items a default list shows and the counts count: not archived, not currently snoozed.
pub(crate) fn active(user: &UserId, now: DateTime<Utc>) -> sea_orm::Condition {
    owned_by(user)
        .add(n::Column::ArchivedAt.is_null())
        .add(awake(now))
}

fn status_filter(user: &UserId, status: InboxStatus, now: DateTime<Utc>) -> sea_orm::Condition {
    match status {
        InboxStatus::Active => active(user, now),
        InboxStatus::Archived => owned_by(user).add(n::Column::ArchivedAt.is_not_null()),
        InboxStatus::All => owned_by(user),
    }
}

/// Matches one element of the stored JSON array. Tags cannot hold `"` or `%`;
/// `_` is a LIKE wildcard, so it is escaped.
fn has_tag(tag: &str) -> sea_orm::sea_query::Expr {
    let pattern = format!("%\"{}\"%", tag.replace('_', "\\_"));
    Expr::col(n::Column::Tags).like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\'))
}

/// A page of the feed, newest first. `before_seq` is the cursor.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub limit: u64,
    pub before_seq: Option<i64>,
    pub unread_only: bool,
    pub unseen_only: bool,
    pub category: Option<String>,
    pub tag: Option<crate::domain::Tag>,
    pub status: InboxStatus,
}

pub async fn list(
    db: &impl ConnectionTrait,
    user: &UserId,
    q: &ListQuery,
) -> StoreResult<Vec<NotificationView>> {
    let mut sel = n::Entity::find().filter(status_filter(user, q.status, Utc::now()));
    if q.unseen_only {
        sel = sel.filter(n::Column::SeenAt.is_null());
    }
    if let Some(tag) = &q.tag {
        sel = sel.filter(has_tag(tag.as_str()));
    }
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

/// Unread among the active items (archived and snoozed ones count in neither count).
pub async fn unread_count(db: &impl ConnectionTrait, user: &UserId) -> StoreResult<u64> {
    Ok(n::Entity::find()
        .filter(active(user, Utc::now()))
        .filter(n::Column::ReadAt.is_null())
        .count(db)
        .await?)
}

/// Soft-deletes `ids` and returns the ones that were the user's.
pub async fn delete(
    db: &impl ConnectionTrait,
    user: &UserId,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    let owned = super::inbox::owned_ids(db, user, ids).await?;
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
