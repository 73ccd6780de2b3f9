//! Topics and their subscribers.

use super::{users, StoreError, StoreResult};
use crate::domain::{TopicKey, UserId};
use chrono::Utc;
use entity::{topic_subscribers as s, topics as t};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};

/// A topic as stored, with how many subscribe to it.
#[derive(Clone, Debug)]
pub struct Topic {
    pub key: TopicKey,
    pub name: String,
    pub subscribers: u64,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

async fn with_count(db: &impl ConnectionTrait, row: t::Model) -> StoreResult<Topic> {
    let subscribers = s::Entity::find()
        .filter(s::Column::TopicKey.eq(row.key.clone()))
        .count(db)
        .await?;
    Ok(Topic {
        key: TopicKey::parse(row.key).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        name: row.name,
        subscribers,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Creates the topic, or renames it. True when it was created.
pub async fn upsert(db: &DatabaseConnection, key: &TopicKey, name: &str) -> StoreResult<bool> {
    let now = Utc::now();
    let existed = t::Entity::find_by_id(key.as_str()).one(db).await?.is_some();
    t::Entity::insert(t::ActiveModel {
        key: Set(key.as_str().to_string()),
        name: Set(name.to_string()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(t::Column::Key)
            .update_columns([t::Column::Name, t::Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(!existed)
}

pub async fn get(db: &impl ConnectionTrait, key: &TopicKey) -> StoreResult<Option<Topic>> {
    match t::Entity::find_by_id(key.as_str()).one(db).await? {
        Some(row) => Ok(Some(with_count(db, row).await?)),
        None => Ok(None),
    }
}

/// Topics by key, after `after`, at most `limit`.
pub async fn list(
    db: &DatabaseConnection,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<Topic>> {
    let mut q = t::Entity::find().order_by_asc(t::Column::Key).limit(limit);
    if let Some(after) = after {
        q = q.filter(t::Column::Key.gt(after));
    }
    let mut out = vec![];
    for row in q.all(db).await? {
        out.push(with_count(db, row).await?);
    }
    Ok(out)
}

/// Deletes the topic, its subscriptions and its fan-outs. False when there was none.
pub async fn delete(db: &DatabaseConnection, key: &TopicKey) -> StoreResult<bool> {
    let txn = db.begin().await?;
    s::Entity::delete_many()
        .filter(s::Column::TopicKey.eq(key.as_str()))
        .exec(&txn)
        .await?;
    entity::topic_fanouts::Entity::delete_many()
        .filter(entity::topic_fanouts::Column::TopicKey.eq(key.as_str()))
        .exec(&txn)
        .await?;
    let gone = t::Entity::delete_by_id(key.as_str()).exec(&txn).await?;
    txn.commit().await?;
    Ok(gone.rows_affected > 0)
}

/// Subscribes users (creating bare user rows, as sends do); repeats change nothing.
pub async fn subscribe(db: &DatabaseConnection, key: &TopicKey, ids: &[UserId]) -> StoreResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    users::ensure_many(&txn, ids).await?;
    s::Entity::insert_many(ids.iter().map(|id| s::ActiveModel {
        topic_key: Set(key.as_str().to_string()),
        user_id: Set(id.as_str().to_string()),
        created_at: Set(now),
    }))
    .on_conflict_do_nothing_on([s::Column::TopicKey, s::Column::UserId])
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Unsubscribes users; those not subscribed are ignored.
pub async fn unsubscribe(
    db: &DatabaseConnection,
    key: &TopicKey,
    ids: &[UserId],
) -> StoreResult<()> {
    s::Entity::delete_many()
        .filter(s::Column::TopicKey.eq(key.as_str()))
        .filter(s::Column::UserId.is_in(ids.iter().map(UserId::as_str)))
        .exec(db)
        .await?;
    Ok(())
}

/// Subscribers by user id, after `after`, at most `limit`: the fan-out's and
/// the listing's cursor alike.
pub async fn subscribers(
    db: &impl ConnectionTrait,
    key: &TopicKey,
    after: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<UserId>> {
    let mut q = s::Entity::find()
        .select_only()
        .column(s::Column::UserId)
        .filter(s::Column::TopicKey.eq(key.as_str()))
        .order_by_asc(s::Column::UserId)
        .limit(limit);
    if let Some(after) = after {
        q = q.filter(s::Column::UserId.gt(after));
    }
    q.into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .map(|id| UserId::parse(id).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect()
}
