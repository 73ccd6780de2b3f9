use sea_orm::entity::prelude::*;

/// Where one owner's (a user's or a rule's) messages on one chat service go.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_destinations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `user` or `rule`.
    pub owner_kind: String,
    /// The user id, or the rule's UUID as text.
    pub owner_id: String,
    /// `slack`, `discord` or `teams`.
    pub service: String,
    /// `webhook` (an incoming-webhook URL) or `channel` (a Slack channel id, bot mode).
    pub kind: String,
    /// The webhook URL or channel id. A webhook URL is a credential: never returned whole.
    pub target: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
