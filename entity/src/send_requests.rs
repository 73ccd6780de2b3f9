use sea_orm::entity::prelude::*;

/// The `/send` idempotency guard: one row per (user, request_id), written in
/// the same transaction as what the send produced, with its per-channel outcomes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "send_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub request_id: String,
    pub notification_id: Option<Uuid>,
    /// JSON object: channel -> outcome.
    pub outcomes: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
