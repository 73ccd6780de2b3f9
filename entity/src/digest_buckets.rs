use sea_orm::entity::prelude::*;

/// An open digest window for one (user, rule, key): its items wait in
/// `digest_items` until `due_at`, when the flush sends them as one notification.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digest_buckets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique while the bucket takes items; NULL once a flush has claimed it.
    pub open_key: Option<String>,
    pub user_id: String,
    pub rule_id: Uuid,
    pub digest_key: String,
    pub due_at: DateTimeUtc,
    /// Items folded so far.
    pub items: i32,
    /// JSON: what the flush sends (template, channels, category, priority, contacts).
    pub plan: String,
    /// The flush's fenced claim.
    pub lease_token: Option<Uuid>,
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
