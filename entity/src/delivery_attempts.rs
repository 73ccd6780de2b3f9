use sea_orm::entity::prelude::*;

/// One try at sending a delivery: the status history the API shows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "delivery_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub delivery_id: Uuid,
    pub attempt: i32,
    /// `sent`, `retry`, `failed` or `invalid_token`.
    pub outcome: String,
    pub error: Option<String>,
    pub provider_message_id: Option<String>,
    pub latency_ms: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
