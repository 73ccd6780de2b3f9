use super::{json_text, StoreError, StoreResult};
use crate::domain::UserId;
use chrono::Utc;
use entity::users;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, ModelTrait};

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

/// Erases the user; foreign keys cascade to notifications, devices and preferences.
pub async fn delete(db: &impl ConnectionTrait, id: &UserId) -> StoreResult<bool> {
    match get(db, id).await? {
        Some(user) => {
            user.delete(db).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}
