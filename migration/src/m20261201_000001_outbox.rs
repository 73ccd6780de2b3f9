//! The typed outbox: a lease token per claim (fencing), typed category and
//! priority on each delivery row, the webhook endpoint as a column, and the
//! `/send` idempotency guard (`send_requests`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    LeaseToken,
    Category,
    Priority,
    EndpointId,
    RequestId,
}

#[derive(DeriveIden)]
enum SendRequests {
    Table,
    UserId,
    RequestId,
    NotificationId,
    Outcomes,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            uuid_null(Deliveries::LeaseToken),
            string(Deliveries::Category).default("general").to_owned(),
            string(Deliveries::Priority).default("normal").to_owned(),
            uuid_null(Deliveries::EndpointId),
            string_null(Deliveries::RequestId),
        ];
        for mut col in columns {
            m.alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(&mut col)
                    .to_owned(),
            )
            .await?;
        }
        // Partial indexes: an in-app delivery (most rows) is never pending and has
        // no endpoint or request id, so its insert touches none of them. The same
        // statements run on SQLite and PostgreSQL.
        for sql in [
            "DROP INDEX IF EXISTS idx_deliveries_due",
            // The scheduler claims per channel, by time, among rows waiting to be sent.
            "CREATE INDEX IF NOT EXISTS idx_deliveries_claim ON deliveries (channel, next_attempt_at) \
             WHERE status IN ('pending', 'sending')",
            "CREATE INDEX IF NOT EXISTS idx_deliveries_endpoint ON deliveries (endpoint_id, created_at) \
             WHERE endpoint_id IS NOT NULL",
            "CREATE INDEX IF NOT EXISTS idx_deliveries_request ON deliveries (request_id) \
             WHERE request_id IS NOT NULL",
            "DROP INDEX IF EXISTS idx_deliveries_event",
            "CREATE INDEX IF NOT EXISTS idx_deliveries_event ON deliveries (event_id) \
             WHERE event_id IS NOT NULL",
        ] {
            m.get_connection().execute_unprepared(sql).await?;
        }
        m.create_table(
            Table::create()
                .table(SendRequests::Table)
                .if_not_exists()
                .col(string(SendRequests::UserId))
                .col(string(SendRequests::RequestId))
                .col(uuid_null(SendRequests::NotificationId))
                .col(text(SendRequests::Outcomes))
                .col(timestamp_with_time_zone(SendRequests::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(SendRequests::UserId)
                        .col(SendRequests::RequestId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_send_requests_user")
                        .from(SendRequests::Table, SendRequests::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Sends made before the guard existed keep their idempotency: their in-app
        // notification was the guard then.
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO send_requests (user_id, request_id, notification_id, outcomes, created_at) \
                 SELECT user_id, request_id, id, '{\"in_app\":{\"outcome\":\"accepted\"}}', created_at \
                 FROM notifications WHERE request_id IS NOT NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(
            Table::drop()
                .table(SendRequests::Table)
                .if_exists()
                .to_owned(),
        )
        .await?;
        for sql in [
            "DROP INDEX IF EXISTS idx_deliveries_claim",
            "DROP INDEX IF EXISTS idx_deliveries_endpoint",
            "DROP INDEX IF EXISTS idx_deliveries_request",
            "DROP INDEX IF EXISTS idx_deliveries_event",
            "CREATE INDEX IF NOT EXISTS idx_deliveries_event ON deliveries (event_id)",
            "CREATE INDEX IF NOT EXISTS idx_deliveries_due ON deliveries (status, next_attempt_at)",
        ] {
            m.get_connection().execute_unprepared(sql).await?;
        }
        for col in [
            Deliveries::LeaseToken,
            Deliveries::Category,
            Deliveries::Priority,
            Deliveries::EndpointId,
            Deliveries::RequestId,
        ] {
            m.alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
