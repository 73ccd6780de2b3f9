use sea_orm::entity::prelude::*;

/// An event that could not be processed, kept with its reason for inspection and replay.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dead_letters")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The event's id when the message could be read as an event.
    pub event_id: Option<String>,
    /// The user the event names (`user_id`, else its email), so erasing the user finds it.
    pub user_id: Option<String>,
    pub source: String,
    pub reason: String,
    /// The raw message body, as text (lossy for non-UTF-8 bodies).
    pub payload: String,
    /// JSON: routing key, queue, headers.
    pub metadata: String,
    /// `open` or `replayed`.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub replayed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
