//! Webhook endpoints.

use super::{catalog_version, parse_json, StoreError, StoreResult};
use chrono::Utc;
use entity::webhook_endpoints as w;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait,
    QueryFilter, QueryOrder, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

/// Consecutive failed attempts after which an endpoint is disabled and flagged.
pub const DISABLE_AFTER_FAILURES: i32 = 20;

pub struct EndpointInput {
    pub url: String,
    pub description: Option<String>,
    pub patterns: Vec<String>,
    pub enabled: bool,
}

pub fn patterns(m: &w::Model) -> StoreResult<Vec<String>> {
    serde_json::from_value(parse_json("event_patterns", &m.event_patterns)?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub async fn create(
    db: &impl TransactionTrait,
    input: EndpointInput,
    secret: String,
) -> StoreResult<w::Model> {
    let now = Utc::now();
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let row = w::ActiveModel {
        id: Set(Uuid::now_v7()),
        url: Set(input.url),
        description: Set(input.description),
        event_patterns: Set(serde_json::json!(input.patterns).to_string()),
        secret: Set(secret),
        enabled: Set(input.enabled),
        failure_count: Set(0),
        disabled_reason: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn update(
    db: &impl TransactionTrait,
    id: Uuid,
    input: EndpointInput,
) -> StoreResult<w::Model> {
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let row = w::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut am: w::ActiveModel = row.into();
    am.url = Set(input.url);
    am.description = Set(input.description);
    am.event_patterns = Set(serde_json::json!(input.patterns).to_string());
    am.enabled = Set(input.enabled);
    if input.enabled {
        // Re-enabling clears the automatic flag.
        am.failure_count = Set(0);
        am.disabled_reason = Set(None);
    }
    am.updated_at = Set(Utc::now());
    let row = am.update(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<Option<w::Model>> {
    Ok(w::Entity::find_by_id(id).one(db).await?)
}

pub async fn list(db: &impl ConnectionTrait) -> StoreResult<Vec<w::Model>> {
    Ok(w::Entity::find()
        .order_by_asc(w::Column::CreatedAt)
        .all(db)
        .await?)
}

pub async fn enabled(db: &impl ConnectionTrait) -> StoreResult<Vec<w::Model>> {
    Ok(w::Entity::find()
        .filter(w::Column::Enabled.eq(true))
        .all(db)
        .await?)
}

pub async fn delete(db: &impl TransactionTrait, id: Uuid) -> StoreResult<bool> {
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let deleted = w::Entity::delete_by_id(id).exec(&txn).await?.rows_affected > 0;
    if deleted {
        txn.commit().await?;
    }
    Ok(deleted)
}

pub async fn rotate(db: &impl ConnectionTrait, id: Uuid, secret: String) -> StoreResult<bool> {
    let res = w::Entity::update_many()
        .col_expr(w::Column::Secret, Expr::value(secret))
        .col_expr(w::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(w::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

pub async fn record_success(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<()> {
    w::Entity::update_many()
        .col_expr(w::Column::FailureCount, Expr::value(0))
        .filter(w::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Counts a failed attempt; returns true when this one disabled the endpoint.
pub async fn record_failure(
    db: &(impl ConnectionTrait + TransactionTrait),
    id: Uuid,
    reason: &str,
) -> StoreResult<bool> {
    w::Entity::update_many()
        .col_expr(
            w::Column::FailureCount,
            Expr::col(w::Column::FailureCount).add(1),
        )
        .filter(w::Column::Id.eq(id))
        .exec(db)
        .await?;
    let due = w::Entity::find_by_id(id)
        .one(db)
        .await?
        .is_some_and(|e| e.enabled && e.failure_count >= DISABLE_AFTER_FAILURES);
    if !due {
        return Ok(false);
    }
    // Disabling is a catalog change. The version row is locked first, as in
    // every catalog write, so two writers never wait on each other's rows.
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let res = w::Entity::update_many()
        .col_expr(w::Column::Enabled, Expr::value(false))
        .col_expr(
            w::Column::DisabledReason,
            Expr::value(format!(
                "disabled after {DISABLE_AFTER_FAILURES} consecutive failures; last: {reason}"
            )),
        )
        .col_expr(w::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(w::Column::Id.eq(id))
        .filter(w::Column::Enabled.eq(true))
        .filter(w::Column::FailureCount.gte(DISABLE_AFTER_FAILURES))
        .exec(&txn)
        .await?;
    // Another sender disabled it first: nothing changed, the bump is rolled back.
    let disabled = res.rows_affected > 0;
    if disabled {
        txn.commit().await?;
    }
    Ok(disabled)
}

/// The endpoint's deliveries, newest first.
pub async fn deliveries(
    db: &impl ConnectionTrait,
    id: Uuid,
    limit: u64,
) -> StoreResult<Vec<entity::deliveries::Model>> {
    use sea_orm::QuerySelect;
    Ok(entity::deliveries::Entity::find()
        .filter(entity::deliveries::Column::EndpointId.eq(id))
        .order_by_desc(entity::deliveries::Column::CreatedAt)
        .limit(limit)
        .all(db)
        .await?)
}
