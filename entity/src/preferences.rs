use sea_orm::entity::prelude::*;

/// A user's notification preferences. A missing row means "everything on".
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "preferences")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: String,
    /// JSON object: channel name -> bool.
    pub channels: String,
    /// JSON object: category -> (channel name -> bool).
    pub categories: String,
    /// `HH:MM`, local to `quiet_hours_timezone`.
    pub quiet_hours_start: Option<String>,
    pub quiet_hours_end: Option<String>,
    /// IANA zone name.
    pub quiet_hours_timezone: Option<String>,
    /// JSON object: category -> digest window (`1h`, `daily@08:00`); NULL is none.
    pub digest: Option<String>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
