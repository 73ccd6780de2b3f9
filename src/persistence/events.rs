//! Processed events (audit), deliveries and dead letters.

use super::StoreResult;
use crate::domain::{lookup, Email, RecipientMap, UserId};
use chrono::Utc;
use entity::{dead_letters as dl, deliveries as d, events as e};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

pub async fn find(db: &impl ConnectionTrait, event_id: &str) -> StoreResult<Option<e::Model>> {
    Ok(e::Entity::find_by_id(event_id.to_string()).one(db).await?)
}

pub async fn deliveries_for_event(
    db: &impl ConnectionTrait,
    event_id: &str,
) -> StoreResult<Vec<d::Model>> {
    Ok(d::Entity::find()
        .filter(d::Column::EventId.eq(event_id))
        .order_by_asc(d::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The user a raw event names, read as the pipeline's default recipient paths
/// do: `user_id` (string or number), else a valid `user_email`/`email`, in the
/// body or its `data`/`payload` envelope. Unreadable bodies name nobody.
pub fn user_named_by(body: &[u8]) -> Option<UserId> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let payload = ["data", "payload"]
        .iter()
        .find_map(|k| value.get(*k).filter(|v| v.is_object()))
        .unwrap_or(&value);
    let id = match lookup(payload, "user_id") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let id = id.or_else(|| {
        RecipientMap::DEFAULT_EMAIL_PATHS.iter().find_map(|p| {
            let raw = lookup(payload, p)?.as_str()?;
            Email::parse(raw).ok().map(|e| e.as_str().to_string())
        })
    })?;
    UserId::parse(id).ok()
}

/// PostgreSQL text cannot hold U+0000, and a dead letter must be stored whatever
/// arrived: NUL becomes U+FFFD, as invalid UTF-8 already does. Such a body is
/// refused again on replay, so nothing is lost that could have been processed.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// Parks an event; the user it names is recorded so erasing them removes it.
/// `user` is the one a matching rule found; without it the default fields are read.
pub async fn add_dead_letter(
    db: &impl ConnectionTrait,
    event_id: Option<String>,
    user: Option<&UserId>,
    source: &str,
    reason: &str,
    payload: &[u8],
    metadata: Value,
) -> StoreResult<dl::Model> {
    Ok(dl::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(event_id),
        user_id: Set(user
            .cloned()
            .or_else(|| user_named_by(payload))
            .map(|u| u.as_str().to_string())),
        source: Set(storable(source)),
        reason: Set(storable(reason)),
        payload: Set(storable(&String::from_utf8_lossy(payload))),
        metadata: Set(metadata.to_string()),
        status: Set("open".into()),
        created_at: Set(Utc::now()),
        replayed_at: Set(None),
    }
    .insert(db)
    .await?)
}

pub async fn dead_letters(
    db: &impl ConnectionTrait,
    status: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<dl::Model>> {
    let mut q = dl::Entity::find();
    if let Some(s) = status {
        q = q.filter(dl::Column::Status.eq(s));
    }
    Ok(q.order_by_desc(dl::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?)
}

pub async fn dead_letter(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<Option<dl::Model>> {
    Ok(dl::Entity::find_by_id(id).one(db).await?)
}

/// The latest dead letter for an event id.
pub async fn dead_letter_for_event(
    db: &impl ConnectionTrait,
    event_id: &str,
) -> StoreResult<Option<dl::Model>> {
    Ok(dl::Entity::find()
        .filter(dl::Column::EventId.eq(event_id))
        .order_by_desc(dl::Column::CreatedAt)
        .one(db)
        .await?)
}

pub async fn mark_replayed(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<()> {
    dl::Entity::update_many()
        .col_expr(dl::Column::Status, Expr::value("replayed"))
        .col_expr(dl::Column::ReplayedAt, Expr::value(Utc::now()))
        .filter(dl::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
