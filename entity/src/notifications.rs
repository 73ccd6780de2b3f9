use sea_orm::entity::prelude::*;

/// One entry of a user's in-app feed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    /// UUID v7, so ids sort by creation time.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: String,
    /// Per-user, strictly increasing and gap-free; assigned in the insert's transaction.
    pub seq: i64,
    pub category: String,
    pub title: String,
    pub body: String,
    pub action_url: Option<String>,
    /// JSON text.
    pub data: String,
    /// `low`, `normal`, `high` or `critical`.
    pub priority: String,
    /// The sender's idempotency key; unique per user.
    pub request_id: Option<String>,
    pub template_code: Option<String>,
    pub template_version: Option<i32>,
    pub read_at: Option<DateTimeUtc>,
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// When the user first saw it in a list (reading implies seeing).
    pub seen_at: Option<DateTimeUtc>,
    pub archived_at: Option<DateTimeUtc>,
    /// Hidden from the default list until then; cleared by the snooze scheduler.
    pub snoozed_until: Option<DateTimeUtc>,
    /// JSON array of tag strings; NULL when there are none.
    pub tags: Option<String>,
    /// JSON array of `{label, url}` / `{label, event}`; NULL when there are none.
    pub actions: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
