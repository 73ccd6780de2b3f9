//! Web Push click reports: which of a user's `web_push` deliveries a service
//! worker's report names.

use super::StoreResult;
use crate::domain::{Channel, UserId};
use entity::deliveries as d;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// What a click report names: the delivery the push carried, or its notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clicked {
    Delivery(Uuid),
    Notification(Uuid),
}

/// The user's own `web_push` deliveries a click names; another user's are never found.
pub async fn clicked(
    db: &impl ConnectionTrait,
    user: &UserId,
    target: Clicked,
) -> StoreResult<Vec<d::Model>> {
    let q = d::Entity::find()
        .filter(d::Column::UserId.eq(user.as_str()))
        .filter(d::Column::Channel.eq(Channel::WebPush.as_str()));
    let q = match target {
        Clicked::Delivery(id) => q.filter(d::Column::Id.eq(id)),
        Clicked::Notification(id) => q.filter(d::Column::NotificationId.eq(id)),
    };
    Ok(q.all(db).await?)
}
