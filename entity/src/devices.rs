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
    /// `apns` or `fcm`.
    pub provider: String,
    /// The app's own device identifier, when it sends one.
    pub device_id: Option<String>,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
