use super::preferences::is_contention;
use super::{json_text, StoreError, StoreResult};
use crate::domain::UserId;
use chrono::Utc;
use entity::{dead_letters, deliveries, delivery_attempts, users};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    TransactionTrait,
};

/// The profile fields a service may set on a user.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub name: Option<String>,
    pub data: serde_json::Value,
}

/// A new user row from a profile; `last_seq` starts at 0.
fn row(id: &UserId, p: Profile) -> users::ActiveModel {
    let now = Utc::now();
    let data = if p.data.is_null() {
        serde_json::json!({})
    } else {
        p.data
    };
    users::ActiveModel {
        id: Set(id.as_str().to_string()),
        email: Set(p.email),
        phone: Set(p.phone),
        locale: Set(p.locale),
        timezone: Set(p.timezone),
        name: Set(p.name),
        data: Set(json_text(&data)),
        last_seq: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

pub async fn upsert(
    db: &impl ConnectionTrait,
    id: &UserId,
    p: Profile,
) -> StoreResult<users::Model> {
    let am = row(id, p);
    use users::Column as C;
    users::Entity::insert(am)
        .on_conflict(
            OnConflict::column(C::Id)
                .update_columns([
                    C::Email,
                    C::Phone,
                    C::Locale,
                    C::Timezone,
                    C::Name,
                    C::Data,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    get(db, id).await?.ok_or(StoreError::NotFound)
}

/// Creates a bare user row if none exists (first sight via /send, preferences, devices).
pub async fn ensure(db: &impl ConnectionTrait, id: &UserId) -> StoreResult<()> {
    let am = row(id, Profile::default());
    users::Entity::insert(am)
        .on_conflict_do_nothing_on([users::Column::Id])
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Creates the user with `p` unless it exists; returns the stored row either way.
pub async fn create_if_missing(
    db: &impl ConnectionTrait,
    id: &UserId,
    p: Profile,
) -> StoreResult<users::Model> {
    let am = row(id, p);
    users::Entity::insert(am)
        .on_conflict_do_nothing_on([users::Column::Id])
        .exec_without_returning(db)
        .await?;
    get(db, id).await?.ok_or(StoreError::NotFound)
}

pub async fn get(db: &impl ConnectionTrait, id: &UserId) -> StoreResult<Option<users::Model>> {
    Ok(users::Entity::find_by_id(id.as_str().to_string())
        .one(db)
        .await?)
}

/// Erases the user and everything of theirs in one transaction: deliveries
/// and their attempts, dead letters naming them, and (through foreign keys)
/// notifications, devices and preferences. `false`, changing nothing, when
/// there is no such user.
pub async fn delete(db: &DatabaseConnection, id: &UserId) -> StoreResult<bool> {
    let mut tries = 0;
    loop {
        tries += 1;
        match delete_once(db, id).await {
            Err(StoreError::Db(e)) if tries < ERASE_TRIES && is_contention(&e) => {
                tracing::debug!(error = %e, tries, "user erase met contention; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(5 << tries)).await;
            }
            other => return other,
        }
    }
}

/// Tries of an erase before contention is reported as an error.
const ERASE_TRIES: u32 = 5;

async fn delete_once(db: &DatabaseConnection, id: &UserId) -> StoreResult<bool> {
    let user = id.as_str().to_string();
    let txn = db.begin().await?;
    // Writes only, so a SQLite transaction never has to upgrade a read lock.
    // Attempts go first: they find their deliveries through the user's rows.
    let theirs = Query::select()
        .column(deliveries::Column::Id)
        .from(deliveries::Entity)
        .and_where(deliveries::Column::UserId.eq(user.clone()))
        .to_owned();
    delivery_attempts::Entity::delete_many()
        .filter(delivery_attempts::Column::DeliveryId.in_subquery(theirs))
        .exec(&txn)
        .await?;
    deliveries::Entity::delete_many()
        .filter(deliveries::Column::UserId.eq(user.clone()))
        .exec(&txn)
        .await?;
    dead_letters::Entity::delete_many()
        .filter(dead_letters::Column::UserId.eq(user.clone()))
        .exec(&txn)
        .await?;
    super::digests::erase_user(&txn, &user).await?;
    entity::chat_destinations::Entity::delete_many()
        .filter(entity::chat_destinations::Column::OwnerKind.eq("user"))
        .filter(entity::chat_destinations::Column::OwnerId.eq(user.clone()))
        .exec(&txn)
        .await?;
    let gone = users::Entity::delete_by_id(user).exec(&txn).await?;
    if gone.rows_affected == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    Ok(true)
}
