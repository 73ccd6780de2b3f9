use sea_orm::entity::prelude::*;

/// A send to a topic, worked through its subscribers in batches. The cursor
/// is the last subscriber (by user id) whose batch has committed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "topic_fanouts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub topic_key: String,
    pub request_id: Option<String>,
    /// JSON: what every subscriber is sent.
    pub message: String,
    /// `running` or `done`.
    pub status: String,
    pub cursor: Option<String>,
    pub processed: i64,
    pub notified: i64,
    pub suppressed: i64,
    pub batches: i64,
    pub lease_token: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
