//! Chat destinations (Slack, Discord, Teams): where a user's, or a rule's,
//! chat messages go. One row per owner and service.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ChatDestinations {
    Table,
    Id,
    OwnerKind,
    OwnerId,
    Service,
    Kind,
    Target,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ChatDestinations::Table)
                .if_not_exists()
                .col(uuid(ChatDestinations::Id).primary_key())
                .col(string(ChatDestinations::OwnerKind))
                .col(string(ChatDestinations::OwnerId))
                .col(string(ChatDestinations::Service))
                .col(string(ChatDestinations::Kind))
                .col(text(ChatDestinations::Target))
                .col(timestamp_with_time_zone(ChatDestinations::CreatedAt))
                .col(timestamp_with_time_zone(ChatDestinations::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_chat_destinations_owner_service")
                .table(ChatDestinations::Table)
                .col(ChatDestinations::OwnerKind)
                .col(ChatDestinations::OwnerId)
                .col(ChatDestinations::Service)
                .unique()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ChatDestinations::Table).to_owned())
            .await
    }
}
