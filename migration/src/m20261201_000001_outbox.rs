//! The typed outbox: a lease token per claim (fencing), typed category and
//! priority on each delivery row, the webhook endpoint as a column, and the
//! `/send` idempotency guard (`send_requests`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Channel,
    Status,
    NextAttemptAt,
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
        // The scheduler claims per channel, by time: channel first.
        m.create_index(
            Index::create()
                .name("idx_deliveries_channel_due")
                .table(Deliveries::Table)
                .col(Deliveries::Channel)
                .col(Deliveries::Status)
                .col(Deliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_deliveries_endpoint")
                .table(Deliveries::Table)
                .col(Deliveries::EndpointId)
                .to_owned(),
        )
        .await?;
        // The status API finds a `/send`'s deliveries by its request id.
        m.create_index(
            Index::create()
                .name("idx_deliveries_request")
                .table(Deliveries::Table)
                .col(Deliveries::RequestId)
                .to_owned(),
        )
        .await?;
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
        for idx in [
            "idx_deliveries_channel_due",
            "idx_deliveries_endpoint",
            "idx_deliveries_request",
        ] {
            m.drop_index(Index::drop().name(idx).table(Deliveries::Table).to_owned())
                .await?;
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
