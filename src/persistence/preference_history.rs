//! The consent audit: every change to a user's preferences, who made it and
//! what it changed. Rows are written by [`super::preferences::update`] in the
//! same transaction as the change, so the history never misses or invents one.

use super::{StoreError, StoreResult};
use crate::domain::{ChangeOrigin, PreferenceChange, UserId};
use chrono::{DateTime, Utc};
use entity::preference_history as h;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

/// One recorded change, newest first in listings.
#[derive(Clone, Debug)]
pub struct Entry {
    pub id: Uuid,
    pub origin: String,
    pub api_key_name: Option<String>,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub at: DateTime<Utc>,
}

pub async fn record(
    db: &impl ConnectionTrait,
    user: &UserId,
    origin: &ChangeOrigin,
    change: &PreferenceChange,
) -> StoreResult<()> {
    h::Entity::insert(h::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.as_str().to_string()),
        origin: Set(origin.as_str().to_string()),
        api_key_name: Set(origin.key_name().map(str::to_string)),
        before: Set(change.before_json().to_string()),
        after: Set(change.after_json().to_string()),
        created_at: Set(Utc::now()),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// One user's changes, newest first, older than `before` (an entry id), at most `limit`.
pub async fn list(
    db: &impl ConnectionTrait,
    user: &UserId,
    before: Option<Uuid>,
    limit: u64,
) -> StoreResult<Vec<Entry>> {
    let mut q = h::Entity::find()
        .filter(h::Column::UserId.eq(user.as_str()))
        .order_by_desc(h::Column::Id)
        .limit(limit);
    if let Some(before) = before {
        q = q.filter(h::Column::Id.lt(before));
    }
    let parse = |field: &str, text: &str| {
        serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("preference_history.{field}: {e}")))
    };
    q.all(db)
        .await?
        .into_iter()
        .map(|row| {
            Ok(Entry {
                id: row.id,
                before: parse("before", &row.before)?,
                after: parse("after", &row.after)?,
                origin: row.origin,
                api_key_name: row.api_key_name,
                at: row.created_at,
            })
        })
        .collect()
}
