use sea_orm::entity::prelude::*;

/// One event folded into a digest bucket, in arrival order (`position` from 1).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "digest_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub bucket_id: Uuid,
    pub position: i32,
    pub event_id: String,
    /// JSON: the event's payload, as the template's `items` shows it.
    pub payload: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
