//! Giving a lease up early, for a node that is shutting down.

use super::StoreResult;
use crate::domain::DeliveryStatus;
use chrono::{DateTime, Utc};
use entity::deliveries as d;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// Ends a lease now: the row stays `sending` but its lease has run out, which
/// is exactly what a claim takes over, so another node retries it at once.
/// Fenced by the token: false means the row was settled or taken over already.
pub async fn release(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = d::Entity::update_many()
        .col_expr(d::Column::NextAttemptAt, Expr::value(now))
        .col_expr(d::Column::UpdatedAt, Expr::value(now))
        .filter(d::Column::Id.eq(id))
        .filter(d::Column::LeaseToken.eq(token))
        .filter(d::Column::Status.eq(DeliveryStatus::Sending.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
