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
    /// `email`, `push`, `sms` or `webhook`.
    pub channel: String,
    /// `pending`, then `sent`, `delivered`, `failed`, `dead`.
    pub status: String,
    /// JSON: the rendered content for this channel, plus the recipient address.
    pub content: String,
    pub template_code: Option<String>,
    pub template_version: Option<i32>,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
