use sea_orm::entity::prelude::*;

/// Maps events matching a pattern to notifications.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rules")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    /// AMQP topic style: `booking.confirmed`, `booking.*`, `payment.#`.
    pub event_pattern: String,
    /// JSON array of channel names.
    pub channels: String,
    pub template_code: String,
    pub category: String,
    pub priority: String,
    /// JSON: where the user id and contact overrides sit in the event.
    pub recipient: String,
    /// A minijinja expression over the event; empty means always.
    pub condition: Option<String>,
    pub enabled: bool,
    /// JSON: the rule's digest (key, window, max_items); NULL sends each event at once.
    pub digest: Option<String>,
    /// JSON: the rule's throttle (limit, window, scope, excess); NULL is no throttle.
    pub throttle: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// How long after the event its notification is sent (`15m`); NULL: at once.
    pub delay: Option<String>,
    /// JSON: the rule's later steps (`[{after, channels}]`); NULL: no escalation.
    pub escalation: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
