use sea_orm::entity::prelude::*;

/// A partner system that receives matching events, signed per Standard Webhooks.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    /// JSON array of AMQP-style event patterns.
    pub event_patterns: String,
    /// `whsec_` + base64; needed in clear to sign, so it is shown only on create and rotate.
    pub secret: String,
    pub enabled: bool,
    /// Consecutive failed attempts; too many disables the endpoint.
    pub failure_count: i32,
    pub disabled_reason: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
