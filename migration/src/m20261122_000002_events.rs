//! Templates (versioned), rules, processed events (the durable dedupe guard
//! and audit), deliveries (the outbox for non-in-app channels) and dead letters.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Templates {
    Table,
    Id,
    Code,
    Locale,
    CurrentVersion,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TemplateVersions {
    Table,
    Id,
    TemplateId,
    Version,
    Parts,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Rules {
    Table,
    Id,
    Name,
    EventPattern,
    Channels,
    TemplateCode,
    Category,
    Priority,
    Recipient,
    Condition,
    Enabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    EventId,
    EventType,
    Source,
    Status,
    Outcome,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    EventId,
    NotificationId,
    RuleId,
    UserId,
    Channel,
    Status,
    Content,
    TemplateCode,
    TemplateVersion,
    Attempts,
    NextAttemptAt,
    LastError,
    ProviderMessageId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    EventPatterns,
    Secret,
    Enabled,
    FailureCount,
    DisabledReason,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DeliveryAttempts {
    Table,
    Id,
    DeliveryId,
    Attempt,
    Outcome,
    Error,
    ProviderMessageId,
    LatencyMs,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DeadLetters {
    Table,
    Id,
    EventId,
    Source,
    Reason,
    Payload,
    Metadata,
    Status,
    CreatedAt,
    ReplayedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Templates::Table)
                .if_not_exists()
                .col(uuid(Templates::Id).primary_key())
                .col(string(Templates::Code))
                .col(string(Templates::Locale))
                .col(integer(Templates::CurrentVersion))
                .col(text_null(Templates::Description))
                .col(timestamp_with_time_zone(Templates::CreatedAt))
                .col(timestamp_with_time_zone(Templates::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_templates_code_locale")
                .table(Templates::Table)
                .col(Templates::Code)
                .col(Templates::Locale)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(TemplateVersions::Table)
                .if_not_exists()
                .col(uuid(TemplateVersions::Id).primary_key())
                .col(uuid(TemplateVersions::TemplateId))
                .col(integer(TemplateVersions::Version))
                .col(text(TemplateVersions::Parts))
                .col(timestamp_with_time_zone(TemplateVersions::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_template_versions_template")
                        .from(TemplateVersions::Table, TemplateVersions::TemplateId)
                        .to(Templates::Table, Templates::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("uq_template_versions")
                .table(TemplateVersions::Table)
                .col(TemplateVersions::TemplateId)
                .col(TemplateVersions::Version)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Rules::Table)
                .if_not_exists()
                .col(uuid(Rules::Id).primary_key())
                .col(string(Rules::Name))
                .col(string(Rules::EventPattern))
                .col(text(Rules::Channels))
                .col(string(Rules::TemplateCode))
                .col(string(Rules::Category))
                .col(string(Rules::Priority))
                .col(text(Rules::Recipient))
                .col(text_null(Rules::Condition))
                .col(boolean(Rules::Enabled))
                .col(timestamp_with_time_zone(Rules::CreatedAt))
                .col(timestamp_with_time_zone(Rules::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Events::Table)
                .if_not_exists()
                .col(string(Events::EventId).primary_key())
                .col(string(Events::EventType))
                .col(string(Events::Source))
                .col(string(Events::Status))
                .col(text(Events::Outcome))
                .col(timestamp_with_time_zone(Events::CreatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Deliveries::Table)
                .if_not_exists()
                .col(uuid(Deliveries::Id).primary_key())
                .col(string_null(Deliveries::EventId))
                .col(uuid_null(Deliveries::NotificationId))
                .col(uuid_null(Deliveries::RuleId))
                .col(string_null(Deliveries::UserId))
                .col(string(Deliveries::Channel))
                .col(string(Deliveries::Status))
                .col(text(Deliveries::Content))
                .col(string_null(Deliveries::TemplateCode))
                .col(integer_null(Deliveries::TemplateVersion))
                .col(integer(Deliveries::Attempts).default(0))
                .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                .col(text_null(Deliveries::LastError))
                .col(string_null(Deliveries::ProviderMessageId))
                .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                .col(timestamp_with_time_zone(Deliveries::UpdatedAt))
                .to_owned(),
        )
        .await?;
        // The scheduler reads due deliveries by status and time.
        m.create_index(
            Index::create()
                .name("idx_deliveries_due")
                .table(Deliveries::Table)
                .col(Deliveries::Status)
                .col(Deliveries::NextAttemptAt)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_deliveries_event")
                .table(Deliveries::Table)
                .col(Deliveries::EventId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookEndpoints::Table)
                .if_not_exists()
                .col(uuid(WebhookEndpoints::Id).primary_key())
                .col(text(WebhookEndpoints::Url))
                .col(text_null(WebhookEndpoints::Description))
                .col(text(WebhookEndpoints::EventPatterns))
                .col(string(WebhookEndpoints::Secret))
                .col(boolean(WebhookEndpoints::Enabled))
                .col(integer(WebhookEndpoints::FailureCount).default(0))
                .col(text_null(WebhookEndpoints::DisabledReason))
                .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DeliveryAttempts::Table)
                .if_not_exists()
                .col(uuid(DeliveryAttempts::Id).primary_key())
                .col(uuid(DeliveryAttempts::DeliveryId))
                .col(integer(DeliveryAttempts::Attempt))
                .col(string(DeliveryAttempts::Outcome))
                .col(text_null(DeliveryAttempts::Error))
                .col(string_null(DeliveryAttempts::ProviderMessageId))
                .col(big_integer(DeliveryAttempts::LatencyMs))
                .col(timestamp_with_time_zone(DeliveryAttempts::CreatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_delivery_attempts_delivery")
                .table(DeliveryAttempts::Table)
                .col(DeliveryAttempts::DeliveryId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(DeadLetters::Table)
                .if_not_exists()
                .col(uuid(DeadLetters::Id).primary_key())
                .col(string_null(DeadLetters::EventId))
                .col(string(DeadLetters::Source))
                .col(text(DeadLetters::Reason))
                .col(text(DeadLetters::Payload))
                .col(text(DeadLetters::Metadata))
                .col(string(DeadLetters::Status))
                .col(timestamp_with_time_zone(DeadLetters::CreatedAt))
                .col(timestamp_with_time_zone_null(DeadLetters::ReplayedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_dead_letters_event")
                .table(DeadLetters::Table)
                .col(DeadLetters::EventId)
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            DeadLetters::Table.into_iden(),
            DeliveryAttempts::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            Deliveries::Table.into_iden(),
            Events::Table.into_iden(),
            Rules::Table.into_iden(),
            TemplateVersions::Table.into_iden(),
            Templates::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
