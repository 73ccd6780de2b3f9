use sea_orm::entity::prelude::*;

/// A recipient, keyed by the id the platform already uses for them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// The external user id, exactly as sent by the platform.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub name: Option<String>,
    /// Free-form custom data, JSON text.
    pub data: String,
    /// Highest notification `seq` handed out for this user (gap-free counter).
    pub last_seq: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// At most one preferences row (its key is the user id, with a foreign key to this row).
    #[sea_orm(has_one = "super::preferences::Entity")]
    Preferences,
}

impl Related<super::preferences::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Preferences.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
