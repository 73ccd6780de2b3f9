use sea_orm::entity::prelude::*;

/// A push target: one app install on one device.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    /// The provider token; unique, because a token identifies one app install.
    #[sea_orm(unique)]
    pub token: String,
    /// `ios`, `android` or `web`.
    pub platform: String,
    /// `apns`, `fcm` or `web_push`.
    pub provider: String,
    /// The app's own device identifier, when it sends one.
    pub device_id: Option<String>,
    pub active: bool,
    /// A Web Push subscription's keys, `{"p256dh","auth"}` as JSON; the endpoint is the token.
    pub web_push_keys: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
