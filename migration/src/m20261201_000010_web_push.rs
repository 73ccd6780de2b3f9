//! Web Push subscriptions are devices: the endpoint is the token, and the
//! subscriber's keys (`p256dh`, `auth`), which the payload is encrypted to,
//! live in a new nullable column that other providers leave empty.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Devices {
    Table,
    WebPushKeys,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Devices::Table)
                .add_column(text_null(Devices::WebPushKeys))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Devices::Table)
                .drop_column(Devices::WebPushKeys)
                .to_owned(),
        )
        .await
    }
}
