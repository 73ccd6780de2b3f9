//! Escalation: the rule column that declares its later steps (JSON as text,
//! NULL when the rule does not escalate). The steps themselves wait as
//! scheduled sends, so they need no table of their own.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Rules {
    Table,
    Escalation,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Rules::Table)
                .add_column(text_null(Rules::Escalation))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Rules::Table)
                .drop_column(Rules::Escalation)
                .to_owned(),
        )
        .await
    }
}
