//! Trace context: the W3C trace id an event arrived with (or the one Herald
//! started), kept in its audit, and the `traceparent` each delivery is sent
//! under, so the provider call, which runs later from the outbox, continues
//! the event's trace. One column per statement: SQLite's ALTER TABLE adds one.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    TraceId,
    Traceparent,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Traceparent,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Events::Table)
                .add_column(string_null(Events::TraceId))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Events::Table)
                .add_column(string_null(Events::Traceparent))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .add_column(string_null(Deliveries::Traceparent))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Deliveries::Table)
                .drop_column(Deliveries::Traceparent)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Events::Table)
                .drop_column(Events::Traceparent)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Events::Table)
                .drop_column(Events::TraceId)
                .to_owned(),
        )
        .await
    }
}
