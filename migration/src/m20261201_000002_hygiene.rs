//! Data hygiene: dead letters remember the user they name (so erasing a user
//! can find them), and every delivery lookup the server makes gets an index.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DeadLetters {
    Table,
    UserId,
}

/// (name, definition) of each deliveries index, with the lookup it serves.
/// Partial where they can be, so an in-app delivery's insert skips them.
const DELIVERY_INDEXES: [(&str, &str); 3] = [
    // Per-user push throttle: channel = 'push' AND user_id = ? AND created_at >= ?.
    (
        "idx_deliveries_push_throttle",
        "ON deliveries (user_id, created_at) WHERE channel = 'push'",
    ),
    // SDK acks (notification_id IN …) and the status API.
    (
        "idx_deliveries_notification",
        "ON deliveries (notification_id)",
    ),
    // Provider callbacks find their delivery by the provider's message id.
    (
        "idx_deliveries_provider_message",
        "ON deliveries (provider_message_id) WHERE provider_message_id IS NOT NULL",
    ),
];

// Retention needs no index of its own: ids are UUIDv7, so "created before the
// cutoff" is a primary-key range.

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
        for (name, definition) in DELIVERY_INDEXES {
            m.get_connection()
                .execute_unprepared(&format!("CREATE INDEX IF NOT EXISTS {name} {definition}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in DELIVERY_INDEXES {
            m.get_connection()
                .execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
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
