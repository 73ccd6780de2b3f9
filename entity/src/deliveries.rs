use sea_orm::entity::prelude::*;

/// One message on one channel to one user: the outbox the channel actors work from.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub event_id: Option<String>,
    pub notification_id: Option<Uuid>,
    pub rule_id: Option<Uuid>,
    /// None for partner webhooks, which go to an endpoint rather than a user.
    pub user_id: Option<String>,
    /// `in_app`, `email`, `push`, `sms` or `webhook` (the domain `Channel`).
    pub channel: String,
    /// The domain `DeliveryStatus`; its transitions are written in one place.
    pub status: String,
    /// JSON: the domain `DeliveryContent` for this channel, recipient address included.
    pub content: String,
    pub template_code: Option<String>,
    pub template_version: Option<i32>,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Stamped fresh by every claim; a send and its settle must hold it.
    pub lease_token: Option<Uuid>,
    pub category: String,
    pub priority: String,
    /// Webhook deliveries: the endpoint they go to.
    pub endpoint_id: Option<Uuid>,
    /// The `/send` request id that produced it, if any.
    pub request_id: Option<String>,
    /// W3C `traceparent` the provider call continues (the span that produced it).
    pub traceparent: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
