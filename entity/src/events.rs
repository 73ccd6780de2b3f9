use sea_orm::entity::prelude::*;

/// A processed event: the durable dedupe guard (its primary key) and the audit record.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub event_id: String,
    pub event_type: String,
    /// `amqp:<queue>`, `redis:<channel>`, `stream:<key>` or `rest`.
    pub source: String,
    /// `processed` or `no_match`.
    pub status: String,
    /// JSON: matched rules, notifications, deliveries, suppressions, or why nothing matched.
    pub outcome: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
