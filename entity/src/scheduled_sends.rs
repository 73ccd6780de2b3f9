use sea_orm::entity::prelude::*;

/// A send waiting for its time: the typed intent, when it is due, and a
/// fenced lease so one step on one node runs it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scheduled_sends")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    /// The idempotency key, also the request id of the send it becomes.
    pub request_id: String,
    /// JSON: the stored intent (`schedule::StoredIntent`).
    pub intent: String,
    pub due_at: DateTimeUtc,
    /// The domain `ScheduleStatus`; its transitions are written in one place.
    pub status: String,
    /// Stamped fresh by every claim; finishing the row must hold it.
    pub lease_token: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
    pub attempts: i32,
    /// The notification it produced, once sent.
    pub notification_id: Option<Uuid>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
