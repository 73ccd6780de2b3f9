use super::StoreResult;
use chrono::{Duration, Utc};
use entity::api_keys as k;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

pub async fn create(
    db: &impl ConnectionTrait,
    name: &str,
    prefix: &str,
    key_hash: &str,
    scopes: &[String],
) -> StoreResult<k::Model> {
    Ok(k::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_string()),
        prefix: Set(prefix.to_string()),
        scopes: Set(serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into())),
        key_hash: Set(key_hash.to_string()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?)
}

pub async fn list(db: &impl ConnectionTrait) -> StoreResult<Vec<k::Model>> {
    Ok(k::Entity::find()
        .order_by_asc(k::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Revokes a key by id or by its listed prefix; true when a live key was revoked.
pub async fn revoke(db: &impl ConnectionTrait, id_or_prefix: &str) -> StoreResult<bool> {
    let mut cond = sea_orm::Condition::any().add(k::Column::Prefix.eq(id_or_prefix));
    if let Ok(id) = Uuid::parse_str(id_or_prefix) {
        cond = cond.add(k::Column::Id.eq(id));
    }
    let res = k::Entity::update_many()
        .col_expr(k::Column::RevokedAt, Expr::value(Utc::now()))
        .filter(cond)
        .filter(k::Column::RevokedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// The live key with this hash, if any. Records use at most once a minute,
/// so authentication does not turn every request into a write.
pub async fn find_active(
    db: &impl ConnectionTrait,
    key_hash: &str,
) -> StoreResult<Option<k::Model>> {
    let row = k::Entity::find()
        .filter(k::Column::KeyHash.eq(key_hash))
        .filter(k::Column::RevokedAt.is_null())
        .one(db)
        .await?;
    if let Some(r) = &row {
        let stale = r
            .last_used_at
            .is_none_or(|t| Utc::now() - t > Duration::minutes(1));
        if stale {
            k::Entity::update_many()
                .col_expr(k::Column::LastUsedAt, Expr::value(Utc::now()))
                .filter(k::Column::Id.eq(r.id))
                .exec(db)
                .await?;
        }
    }
    Ok(row)
}
