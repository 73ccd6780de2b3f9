use sea_orm::entity::prelude::*;

/// One change to a user's preferences: who made it and the changed fields
/// before and after, written in the same transaction as the change.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "preference_history")]
pub struct Model {
    /// UUIDv7: ordering by id is ordering by time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    /// `user`, `api_key` or `unsubscribe`.
    pub origin: String,
    pub api_key_name: Option<String>,
    /// JSON object: changed field path -> value before.
    pub before: String,
    /// JSON object: changed field path -> value after.
    pub after: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
