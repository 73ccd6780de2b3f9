//! The catalog version row: bumped inside every transaction that changes
//! rules, templates or webhook endpoints, read by nodes to know whether their
//! in-memory catalog is current. On PostgreSQL the bump also notifies
//! listeners; the notification is delivered only if the transaction commits.

use super::{StoreError, StoreResult};
use entity::catalog_version as c;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, QueryFilter, Statement,
};

/// The PostgreSQL channel a bump notifies, with the new version as payload.
pub const CHANNEL: &str = "herald_catalog";

/// The id of the single row.
const ROW: i32 = 1;

/// Increments the version and returns it. Call it first in a transaction:
/// a write first makes SQLite take its write lock at once.
pub async fn bump(db: &impl ConnectionTrait) -> StoreResult<i64> {
    let backend = db.get_database_backend();
    let version = c::Entity::update_many()
        .col_expr(c::Column::Version, Expr::col(c::Column::Version).add(1))
        .filter(c::Column::Id.eq(ROW))
        .exec_with_returning(db)
        .await?
        .first()
        .map(|m| m.version)
        .ok_or_else(|| StoreError::Corrupt("the catalog_version row is missing".into()))?;
    if backend == DbBackend::Postgres {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), version.to_string().into()],
        ))
        .await?;
    }
    Ok(version)
}

/// The committed version.
pub async fn current(db: &impl ConnectionTrait) -> StoreResult<i64> {
    c::Entity::find_by_id(ROW)
        .one(db)
        .await?
        .map(|m| m.version)
        .ok_or_else(|| StoreError::Corrupt("the catalog_version row is missing".into()))
}
