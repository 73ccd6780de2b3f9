//! The in-app feed: inserts with a gap-free per-user `seq`, cursor pages,
//! read state and soft deletes. Every query is scoped by user id, so one
//! user's ids can never reach another's rows.

use super::{is_unique_violation, json_text, parse_json, users, StoreError, StoreResult};
use crate::domain::{NewNotification, NotificationId, NotificationView, Priority, UserId};
use chrono::Utc;
use entity::{notifications as n, users as u};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, ExprTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
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

pub async fn find_by_request(
    db: &impl ConnectionTrait,
    user: &UserId,
    request_id: &str,
) -> StoreResult<Option<n::Model>> {
    Ok(n::Entity::find()
        .filter(n::Column::UserId.eq(user.as_str()))
        .filter(n::Column::RequestId.eq(request_id))
        .one(db)
        .await?)
}

/// Earlier notifications for these (user, request_id) pairs, keyed by the pair.
pub async fn find_existing<'a>(
    db: &impl ConnectionTrait,
    news: impl Iterator<Item = &'a NewNotification>,
) -> StoreResult<std::collections::HashMap<(String, String), NotificationView>> {
    let (mut users, mut rids) = (vec![], vec![]);
    for n in news {
        if let Some(r) = &n.request_id {
            users.push(n.user_id.as_str().to_string());
            rids.push(r.clone());
        }
    }
    let mut out = std::collections::HashMap::new();
    if rids.is_empty() {
        return Ok(out);
    }
    // A superset (every user x every id); exact pairs are picked out below.
    let rows = n::Entity::find()
        .filter(n::Column::UserId.is_in(users))
        .filter(n::Column::RequestId.is_in(rids))
        .all(db)
        .await?;
    for row in rows {
        if let Some(rid) = row.request_id.clone() {
            out.insert((row.user_id.clone(), rid), to_view(&row)?);
        }
    }
    Ok(out)
}

/// Stores a notification exactly once per (user, request_id).
///
/// The seq counter is bumped first in the transaction: on PostgreSQL that
/// row lock serialises a user's inserts, and on SQLite a write-first
/// transaction takes the write lock at once instead of failing to upgrade.
pub async fn insert(db: &DatabaseConnection, new: &NewNotification) -> StoreResult<Inserted> {
    if let Some(rid) = &new.request_id {
        if let Some(existing) = find_by_request(db, &new.user_id, rid).await? {
            return Ok(Inserted {
                view: to_view(&existing)?,
                created: false,
            });
        }
    }
    match insert_new(db, new).await {
        Ok(view) => Ok(Inserted {
            view,
            created: true,
        }),
        Err(StoreError::Db(e)) if is_unique_violation(&e) && new.request_id.is_some() => {
            // A concurrent request with the same request_id won the race.
            let rid = new.request_id.as_deref().unwrap_or_default();
            let existing = find_by_request(db, &new.user_id, rid)
                .await?
                .ok_or(StoreError::Db(e))?;
            Ok(Inserted {
                view: to_view(&existing)?,
                created: false,
            })
        }
        Err(e) => Err(e),
    }
}

async fn insert_new(
    db: &DatabaseConnection,
    new: &NewNotification,
) -> StoreResult<NotificationView> {
    let txn = db.begin().await?;
    let user = new.user_id.as_str();
    let bump = || {
        u::Entity::update_many()
            .col_expr(u::Column::LastSeq, Expr::col(u::Column::LastSeq).add(1))
            .filter(u::Column::Id.eq(user))
    };
    if bump().exec(&txn).await?.rows_affected == 0 {
        users::ensure(&txn, &new.user_id).await?;
        bump().exec(&txn).await?;
    }
    let seq: i64 = u::Entity::find_by_id(user.to_string())
        .select_only()
        .column(u::Column::LastSeq)
        .into_tuple()
        .one(&txn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let id = NotificationId::new().as_uuid();
    let now = Utc::now();
    let am = n::ActiveModel {
        id: Set(id),
        user_id: Set(user.to_string()),
        seq: Set(seq),
        category: Set(new.category.as_str().to_string()),
        title: Set(new.title.clone()),
        body: Set(new.body.clone()),
        action_url: Set(new.action_url.as_ref().map(|a| a.as_str().to_string())),
        data: Set(json_text(&new.data)),
        priority: Set(new.priority.as_str().to_string()),
        request_id: Set(new.request_id.clone()),
        template_code: Set(new.template.as_ref().map(|t| t.0.clone())),
        template_version: Set(new.template.as_ref().map(|t| t.1)),
        read_at: Set(None),
        deleted_at: Set(None),
        created_at: Set(now),
    };
    n::Entity::insert(am).exec_without_returning(&txn).await?;
    txn.commit().await?;
    Ok(NotificationView {
        id,
        seq,
        category: new.category.as_str().to_string(),
        title: new.title.clone(),
        body: new.body.clone(),
        action_url: new.action_url.as_ref().map(|a| a.as_str().to_string()),
        data: new.data.clone(),
        priority: new.priority,
        created_at: now,
        read_at: None,
    })
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
