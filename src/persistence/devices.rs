use super::{users, StoreResult};
use crate::domain::{DeviceToken, Platform, PushProvider, UserId, WebPushSubscription};
use chrono::Utc;
use entity::devices as d;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};

/// A validated device registration.
#[derive(Clone, Debug)]
pub struct NewDevice {
    pub token: DeviceToken,
    pub platform: Platform,
    pub provider: PushProvider,
    pub device_id: Option<String>,
    /// A Web Push subscription (its endpoint is the token); `None` for APNs and FCM.
    pub web_push: Option<WebPushSubscription>,
}

/// Registers a token for `user`. A token identifies one app install, so
/// registering a known token moves it to the registering user (the install
/// changed hands, e.g. logout and login) and reactivates it.
pub async fn register(
    db: &impl ConnectionTrait,
    user: &UserId,
    dev: NewDevice,
) -> StoreResult<d::Model> {
    users::ensure(db, user).await?;
    let now = Utc::now();
    let keys = dev.web_push.as_ref().map(WebPushSubscription::keys_json);
    let existing = d::Entity::find()
        .filter(d::Column::Token.eq(dev.token.as_str()))
        .one(db)
        .await?;
    let model = match existing {
        Some(row) => {
            let mut am: d::ActiveModel = row.into();
            am.user_id = Set(user.as_str().to_string());
            am.platform = Set(dev.platform.as_str().to_string());
            am.provider = Set(dev.provider.as_str().to_string());
            am.device_id = Set(dev.device_id);
            am.active = Set(true);
            am.web_push_keys = Set(keys);
            am.updated_at = Set(now);
            am.update(db).await?
        }
        None => {
            d::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                user_id: Set(user.as_str().to_string()),
                token: Set(dev.token.as_str().to_string()),
                platform: Set(dev.platform.as_str().to_string()),
                provider: Set(dev.provider.as_str().to_string()),
                device_id: Set(dev.device_id),
                active: Set(true),
                web_push_keys: Set(keys),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?
        }
    };
    Ok(model)
}

pub async fn list(db: &impl ConnectionTrait, user: &UserId) -> StoreResult<Vec<d::Model>> {
    Ok(d::Entity::find()
        .filter(d::Column::UserId.eq(user.as_str()))
        .order_by_asc(d::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Removes the user's device with `token`; false when the user has no such device.
pub async fn delete(db: &impl ConnectionTrait, user: &UserId, token: &str) -> StoreResult<bool> {
    let res = d::Entity::delete_many()
        .filter(d::Column::UserId.eq(user.as_str()))
        .filter(d::Column::Token.eq(token))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Marks a token dead (APNs Unregistered, FCM UNREGISTERED): it is kept for the record but never sent to.
pub async fn deactivate(db: &impl ConnectionTrait, token: &str) -> StoreResult<()> {
    use sea_orm::sea_query::Expr;
    d::Entity::update_many()
        .col_expr(d::Column::Active, Expr::value(false))
        .col_expr(d::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(d::Column::Token.eq(token))
        .exec(db)
        .await?;
    Ok(())
}
