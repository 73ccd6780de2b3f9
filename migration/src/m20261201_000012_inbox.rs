//! The inbox: seen vs read, archive, snooze, tags and actions. Additive
//! columns only; `tags` and `actions` are JSON arrays as text, NULL when a
//! notification has none, so a plain insert writes nothing extra.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    SeenAt,
    ArchivedAt,
    SnoozedUntil,
    Tags,
    Actions,
}

/// (name, definition) of each index, with the query it serves.
const INDEXES: [(&str, &str); 2] = [
    // `status=archived`: a user's archived items by seq. Partial, so an insert
    // (never archived) skips it. The default list and the counts walk
    // `uq_notifications_user_seq` and filter: a partial index over active rows
    // would take every insert, and measured with the bench it tripled SQLite's
    // p50 send-to-frame latency.
    (
        "idx_notifications_archived",
        "ON notifications (user_id, seq) WHERE archived_at IS NOT NULL",
    ),
    // The snooze scheduler's scan for due items; partial, so an insert skips it.
    (
        "idx_notifications_snoozed_until",
        "ON notifications (snoozed_until) WHERE snoozed_until IS NOT NULL",
    ),
];

fn columns() -> Vec<ColumnDef> {
    vec![
        timestamp_with_time_zone_null(Notifications::SeenAt),
        timestamp_with_time_zone_null(Notifications::ArchivedAt),
        timestamp_with_time_zone_null(Notifications::SnoozedUntil),
        text_null(Notifications::Tags),
        text_null(Notifications::Actions),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for mut col in columns() {
            m.alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        for (name, definition) in INDEXES {
            m.get_connection()
                .execute_unprepared(&format!("CREATE INDEX IF NOT EXISTS {name} {definition}"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, _) in INDEXES {
            m.get_connection()
                .execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        for col in [
            Notifications::SeenAt,
            Notifications::ArchivedAt,
            Notifications::SnoozedUntil,
            Notifications::Tags,
            Notifications::Actions,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Notifications::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
