//! The catalog version: one row whose counter every change to rules,
//! templates or webhook endpoints increments in its own transaction, so a
//! node (or a CLI run) can tell with one read whether its in-memory catalog
//! is current.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CatalogVersion {
    Table,
    Id,
    Version,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CatalogVersion::Table)
                .if_not_exists()
                .col(integer(CatalogVersion::Id).primary_key())
                .col(big_integer(CatalogVersion::Version).default(0))
                .to_owned(),
        )
        .await?;
        // The single row always exists, so a bump is a plain UPDATE (a write
        // first, which SQLite needs to take its lock without a failed upgrade).
        m.exec_stmt(
            Query::insert()
                .into_table(CatalogVersion::Table)
                .columns([CatalogVersion::Id, CatalogVersion::Version])
                .values_panic([1.into(), 0.into()])
                .on_conflict(
                    OnConflict::column(CatalogVersion::Id)
                        .do_nothing()
                        .to_owned(),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(CatalogVersion::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
