//! Data hygiene: dead letters remember the user they name (so erasing a user
//! can find them), and every delivery lookup the server makes gets an index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Deliveries {
    Table,
    UserId,
    Channel,
    CreatedAt,
    NotificationId,
    ProviderMessageId,
    Status,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeadLetters {
    Table,
    UserId,
}

/// (name, columns) of each deliveries index, with the lookup it serves.
const DELIVERY_INDEXES: [(&str, &[Deliveries]); 4] = [
    // Per-user push throttle: user_id = ? AND channel = ? AND created_at >= ?.
    (
        "idx_deliveries_user_channel_created",
        &[
            Deliveries::UserId,
            Deliveries::Channel,
            Deliveries::CreatedAt,
        ],
    ),
    // SDK acks (notification_id IN …) and the status API.
    ("idx_deliveries_notification", &[Deliveries::NotificationId]),
    // Provider callbacks find their delivery by the provider's message id.
    (
        "idx_deliveries_provider_message",
        &[Deliveries::ProviderMessageId],
    ),
    // Retention: finished deliveries older than a cutoff.
    (
        "idx_deliveries_status_updated",
        &[Deliveries::Status, Deliveries::UpdatedAt],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(DeadLetters::Table)
                .add_column(string_null(DeadLetters::UserId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_dead_letters_user")
                .table(DeadLetters::Table)
                .col(DeadLetters::UserId)
                .to_owned(),
        )
        .await?;
        for (name, cols) in DELIVERY_INDEXES {
            let mut index = Index::create();
            index.if_not_exists().name(name).table(Deliveries::Table);
            for col in cols {
                index.col(*col);
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in DELIVERY_INDEXES {
            m.drop_index(
                Index::drop()
                    .if_exists()
                    .name(name)
                    .table(Deliveries::Table)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_index(
            Index::drop()
                .if_exists()
                .name("idx_dead_letters_user")
                .table(DeadLetters::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(DeadLetters::Table)
                .drop_column(DeadLetters::UserId)
                .to_owned(),
        )
        .await
    }
}
