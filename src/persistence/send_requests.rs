//! The `/send` idempotency guard. Its row is written in the same transaction
//! as everything the send produced, so a repeat finds either nothing (and
//! produces) or the whole original outcome (and replays it).

use super::{StoreError, StoreResult};
use crate::domain::{Channel, ChannelOutcome, UserId};
use entity::send_requests as s;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

/// What an earlier `/send` with this request id produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Original {
    pub notification_id: Option<Uuid>,
    pub outcomes: BTreeMap<Channel, ChannelOutcome>,
}

pub async fn find(
    db: &impl ConnectionTrait,
    user: &UserId,
    request_id: &str,
) -> StoreResult<Option<Original>> {
    let Some(row) = s::Entity::find_by_id((user.as_str().to_string(), request_id.to_string()))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let outcomes = serde_json::from_str(&row.outcomes)
        .map_err(|e| StoreError::Corrupt(format!("send_requests.outcomes: {e}")))?;
    Ok(Some(Original {
        notification_id: row.notification_id,
        outcomes,
    }))
}

/// Which of these (user, request_id) pairs are already guarded.
pub async fn existing(
    db: &impl ConnectionTrait,
    keys: &[(&str, &str)],
) -> StoreResult<HashSet<(String, String)>> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    // A superset (every user x every id); exact pairs are picked out below.
    let rows = s::Entity::find()
        .filter(s::Column::UserId.is_in(keys.iter().map(|k| k.0)))
        .filter(s::Column::RequestId.is_in(keys.iter().map(|k| k.1)))
        .all(db)
        .await?;
    let wanted: HashSet<(&str, &str)> = keys.iter().copied().collect();
    Ok(rows
        .into_iter()
        .filter(|r| wanted.contains(&(r.user_id.as_str(), r.request_id.as_str())))
        .map(|r| (r.user_id, r.request_id))
        .collect())
}

pub(crate) fn outcomes_text(outcomes: &BTreeMap<Channel, ChannelOutcome>) -> StoreResult<String> {
    serde_json::to_string(outcomes)
        .map_err(|e| StoreError::Corrupt(format!("send_requests.outcomes: {e}")))
}

/// For guards already written under one request id: whether each user's
/// send produced anything (a resumed fan-out counts what the first run did).
pub async fn produced_under(
    db: &impl ConnectionTrait,
    request_id: &str,
    users: &[&str],
) -> StoreResult<std::collections::HashMap<String, bool>> {
    if users.is_empty() {
        return Ok(Default::default());
    }
    let rows = s::Entity::find()
        .filter(s::Column::RequestId.eq(request_id))
        .filter(s::Column::UserId.is_in(users.iter().copied()))
        .all(db)
        .await?;
    rows.into_iter()
        .map(|r| {
            let outcomes: BTreeMap<Channel, ChannelOutcome> = serde_json::from_str(&r.outcomes)
                .map_err(|e| StoreError::Corrupt(format!("send_requests.outcomes: {e}")))?;
            Ok((r.user_id, outcomes.values().any(ChannelOutcome::produced)))
        })
        .collect()
}
