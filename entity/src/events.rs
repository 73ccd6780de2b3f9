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
    /// The W3C trace id (32 hex digits) the event was processed under, when it had one.
    pub trace_id: Option<String>,
    /// The `traceparent` of the span that processed it: its deliveries continue from there.
    pub traceparent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
