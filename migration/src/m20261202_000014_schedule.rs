//! Scheduled sends: one row per send that waits for its time. The row holds
//! the typed intent as JSON, its due time, its status (the domain
//! `ScheduleStatus`) and a fenced lease like the delivery outbox's, so a
//! step that dies mid-send is taken over and several nodes never run the
//! same row at once.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ScheduledSends {
    Table,
    Id,
    UserId,
    RequestId,
    Intent,
    DueAt,
    Status,
    LeaseToken,
    LeaseUntil,
    Attempts,
    NotificationId,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Rules {
    Table,
    Delay,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ScheduledSends::Table)
                .if_not_exists()
                .col(uuid(ScheduledSends::Id).primary_key())
                .col(string(ScheduledSends::UserId))
                .col(string(ScheduledSends::RequestId))
                .col(text(ScheduledSends::Intent))
                .col(timestamp_with_time_zone(ScheduledSends::DueAt))
                .col(string(ScheduledSends::Status))
                .col(uuid_null(ScheduledSends::LeaseToken))
                .col(timestamp_with_time_zone_null(ScheduledSends::LeaseUntil))
                .col(integer(ScheduledSends::Attempts).default(0))
                .col(uuid_null(ScheduledSends::NotificationId))
                .col(text_null(ScheduledSends::LastError))
                .col(timestamp_with_time_zone(ScheduledSends::CreatedAt))
                .col(timestamp_with_time_zone(ScheduledSends::UpdatedAt))
                .to_owned(),
        )
        .await?;
        for sql in [
            // A repeat of (user, request_id) finds the original: the idempotency key.
            "CREATE UNIQUE INDEX IF NOT EXISTS uq_scheduled_sends_user_request
             ON scheduled_sends (user_id, request_id)",
            // The step's scan for due rows; partial, so finished rows drop out of it.
            "CREATE INDEX IF NOT EXISTS idx_scheduled_sends_due
             ON scheduled_sends (due_at) WHERE status IN ('pending', 'sending')",
        ] {
            m.get_connection().execute_unprepared(sql).await?;
        }
        // A rule's delay (a span such as `15m`); NULL sends at once.
        m.alter_table(
            Table::alter()
                .table(Rules::Table)
                .add_column(text_null(Rules::Delay))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Rules::Table)
                .drop_column(Rules::Delay)
                .to_owned(),
        )
        .await?;
        m.drop_table(
            Table::drop()
                .table(ScheduledSends::Table)
                .if_exists()
                .to_owned(),
        )
        .await
    }
}
