//! Topics (named groups of subscribers), their durable fan-outs, and the
//! preference history (the consent audit).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Topics {
    Table,
    Key,
    Name,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TopicSubscribers {
    Table,
    TopicKey,
    UserId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TopicFanouts {
    Table,
    Id,
    TopicKey,
    RequestId,
    Message,
    Status,
    Cursor,
    Processed,
    Notified,
    Suppressed,
    Batches,
    LeaseToken,
    LeaseUntil,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum PreferenceHistory {
    Table,
    Id,
    UserId,
    Origin,
    ApiKeyName,
    Before,
    After,
    CreatedAt,
}

fn user_fk(from: impl IntoIden + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, Alias::new("user_id"))
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn topic_fk(from: impl IntoIden + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from, Alias::new("topic_key"))
        .to(Topics::Table, Topics::Key)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

/// (name, definition) of each index, with the query it serves.
const INDEXES: [(&str, &str); 3] = [
    // Idempotency of a topic send: one fan-out per (topic, request id).
    (
        "uq_topic_fanouts_request",
        "UNIQUE INDEX IF NOT EXISTS uq_topic_fanouts_request ON topic_fanouts (topic_key, request_id)",
    ),
    // The runner's scan for unfinished fan-outs; partial, so finished ones cost nothing.
    (
        "idx_topic_fanouts_running",
        "INDEX IF NOT EXISTS idx_topic_fanouts_running ON topic_fanouts (created_at) WHERE status = 'running'",
    ),
    // A user's history, newest first.
    (
        "idx_preference_history_user",
        "INDEX IF NOT EXISTS idx_preference_history_user ON preference_history (user_id, id)",
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Topics::Table)
                .if_not_exists()
                .col(string(Topics::Key).primary_key())
                .col(string(Topics::Name))
                .col(timestamp_with_time_zone(Topics::CreatedAt))
                .col(timestamp_with_time_zone(Topics::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TopicSubscribers::Table)
                .if_not_exists()
                .col(string(TopicSubscribers::TopicKey))
                .col(string(TopicSubscribers::UserId))
                .col(timestamp_with_time_zone(TopicSubscribers::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(TopicSubscribers::TopicKey)
                        .col(TopicSubscribers::UserId),
                )
                .foreign_key(&mut topic_fk(
                    TopicSubscribers::Table,
                    "fk_topic_subscribers_topic",
                ))
                .foreign_key(&mut user_fk(
                    TopicSubscribers::Table,
                    "fk_topic_subscribers_user",
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TopicFanouts::Table)
                .if_not_exists()
                .col(uuid(TopicFanouts::Id).primary_key())
                .col(string(TopicFanouts::TopicKey))
                .col(string_null(TopicFanouts::RequestId))
                .col(text(TopicFanouts::Message))
                .col(string(TopicFanouts::Status))
                .col(string_null(TopicFanouts::Cursor))
                .col(big_integer(TopicFanouts::Processed).default(0))
                .col(big_integer(TopicFanouts::Notified).default(0))
                .col(big_integer(TopicFanouts::Suppressed).default(0))
                .col(big_integer(TopicFanouts::Batches).default(0))
                .col(uuid_null(TopicFanouts::LeaseToken))
                .col(timestamp_with_time_zone_null(TopicFanouts::LeaseUntil))
                .col(timestamp_with_time_zone(TopicFanouts::CreatedAt))
                .col(timestamp_with_time_zone(TopicFanouts::UpdatedAt))
                .col(timestamp_with_time_zone_null(TopicFanouts::FinishedAt))
                .foreign_key(&mut topic_fk(TopicFanouts::Table, "fk_topic_fanouts_topic"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PreferenceHistory::Table)
                .if_not_exists()
                .col(uuid(PreferenceHistory::Id).primary_key())
                .col(string(PreferenceHistory::UserId))
                .col(string(PreferenceHistory::Origin))
                .col(string_null(PreferenceHistory::ApiKeyName))
                .col(text(PreferenceHistory::Before))
                .col(text(PreferenceHistory::After))
                .col(timestamp_with_time_zone(PreferenceHistory::CreatedAt))
                .foreign_key(&mut user_fk(
                    PreferenceHistory::Table,
                    "fk_preference_history_user",
                ))
                .to_owned(),
        )
        .await?;
        for (_, definition) in INDEXES {
            m.get_connection()
                .execute_unprepared(&format!("CREATE {definition}"))
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
        for t in [
            PreferenceHistory::Table.into_iden(),
            TopicFanouts::Table.into_iden(),
            TopicSubscribers::Table.into_iden(),
            Topics::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
