//! Digests and throttles: the open digest buckets with their items, and the
//! rule and preference columns that configure them (JSON as text, NULL when unset).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DigestBuckets {
    Table,
    Id,
    OpenKey,
    UserId,
    RuleId,
    DigestKey,
    DueAt,
    Items,
    Plan,
    LeaseToken,
    LeaseUntil,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DigestItems {
    Table,
    Id,
    BucketId,
    Position,
    EventId,
    Payload,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Rules {
    Table,
    Digest,
    Throttle,
}

#[derive(DeriveIden)]
enum Preferences {
    Table,
    Digest,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(DigestBuckets::Table)
                .if_not_exists()
                .col(uuid(DigestBuckets::Id).primary_key())
                // Set while the bucket takes items; NULL once its flush has claimed it.
                // NULLs never collide, so one open bucket per (user, rule, key) is unique.
                .col(string_null(DigestBuckets::OpenKey).unique_key())
                .col(string(DigestBuckets::UserId))
                .col(uuid(DigestBuckets::RuleId))
                .col(text(DigestBuckets::DigestKey))
                .col(timestamp_with_time_zone(DigestBuckets::DueAt))
                .col(integer(DigestBuckets::Items).default(0))
                // JSON: what the flush sends (template, channels, category, priority, contacts).
                .col(text(DigestBuckets::Plan))
                .col(uuid_null(DigestBuckets::LeaseToken))
                .col(timestamp_with_time_zone_null(DigestBuckets::LeaseUntil))
                .col(timestamp_with_time_zone(DigestBuckets::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_digest_buckets_due_at")
                .table(DigestBuckets::Table)
                .col(DigestBuckets::DueAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("idx_digest_buckets_user")
                .table(DigestBuckets::Table)
                .col(DigestBuckets::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DigestItems::Table)
                .if_not_exists()
                .col(uuid(DigestItems::Id).primary_key())
                .col(uuid(DigestItems::BucketId))
                .col(integer(DigestItems::Position))
                .col(string(DigestItems::EventId))
                .col(text(DigestItems::Payload))
                .col(timestamp_with_time_zone(DigestItems::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .if_not_exists()
                .name("uq_digest_items_bucket_position")
                .table(DigestItems::Table)
                .col(DigestItems::BucketId)
                .col(DigestItems::Position)
                .unique()
                .to_owned(),
        )
        .await?;
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for col in [Rules::Digest, Rules::Throttle] {
            m.alter_table(
                Table::alter()
                    .table(Rules::Table)
                    .add_column(text_null(col))
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Preferences::Table)
                .add_column(text_null(Preferences::Digest))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DigestItems::Table.into_iden(),
            DigestBuckets::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        for col in [Rules::Digest, Rules::Throttle] {
            m.alter_table(
                Table::alter()
                    .table(Rules::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.alter_table(
            Table::alter()
                .table(Preferences::Table)
                .drop_column(Preferences::Digest)
                .to_owned(),
        )
        .await
    }
}
