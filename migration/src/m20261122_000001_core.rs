use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    Phone,
    Locale,
    Timezone,
    Name,
    Data,
    LastSeq,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    UserId,
    Token,
    Platform,
    Provider,
    DeviceId,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    UserId,
    Seq,
    Category,
    Title,
    Body,
    ActionUrl,
    Data,
    Priority,
    RequestId,
    TemplateCode,
    TemplateVersion,
    ReadAt,
    DeletedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Preferences {
    Table,
    UserId,
    Channels,
    Categories,
    QuietHoursStart,
    QuietHoursEnd,
    QuietHoursTimezone,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Name,
    Prefix,
    Scopes,
    KeyHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

fn user_fk(from_table: impl IntoIden + 'static, name: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from_table, Alias::new("user_id"))
        .to(Users::Table, Users::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(string(Users::Id).primary_key())
                .col(string_null(Users::Email))
                .col(string_null(Users::Phone))
                .col(string_null(Users::Locale))
                .col(string_null(Users::Timezone))
                .col(string_null(Users::Name))
                .col(text(Users::Data))
                .col(big_integer(Users::LastSeq).default(0))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Devices::Table)
                .if_not_exists()
                .col(uuid(Devices::Id).primary_key())
                .col(string(Devices::UserId))
                .col(string(Devices::Token).unique_key())
                .col(string(Devices::Platform))
                .col(string(Devices::Provider))
                .col(string_null(Devices::DeviceId))
                .col(boolean(Devices::Active))
                .col(timestamp_with_time_zone(Devices::CreatedAt))
                .col(timestamp_with_time_zone(Devices::UpdatedAt))
                .foreign_key(&mut user_fk(Devices::Table, "fk_devices_user"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_devices_user")
                .table(Devices::Table)
                .col(Devices::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Notifications::Table)
                .if_not_exists()
                .col(uuid(Notifications::Id).primary_key())
                .col(string(Notifications::UserId))
                .col(big_integer(Notifications::Seq))
                .col(string(Notifications::Category))
                .col(text(Notifications::Title))
                .col(text(Notifications::Body))
                .col(text_null(Notifications::ActionUrl))
                .col(text(Notifications::Data))
                .col(string(Notifications::Priority))
                .col(string_null(Notifications::RequestId))
                .col(string_null(Notifications::TemplateCode))
                .col(integer_null(Notifications::TemplateVersion))
                .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                .col(timestamp_with_time_zone_null(Notifications::DeletedAt))
                .col(timestamp_with_time_zone(Notifications::CreatedAt))
                .foreign_key(&mut user_fk(Notifications::Table, "fk_notifications_user"))
                .to_owned(),
        )
        .await?;
        // The feed is read newest-first by seq; this index also enforces gap-free uniqueness.
        m.create_index(
            Index::create()
                .name("uq_notifications_user_seq")
                .table(Notifications::Table)
                .col(Notifications::UserId)
                .col(Notifications::Seq)
                .unique()
                .to_owned(),
        )
        .await?;
        // Idempotency of POST /send: NULL request ids never collide on either database.
        m.create_index(
            Index::create()
                .name("uq_notifications_user_request")
                .table(Notifications::Table)
                .col(Notifications::UserId)
                .col(Notifications::RequestId)
                .unique()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Preferences::Table)
                .if_not_exists()
                .col(string(Preferences::UserId).primary_key())
                .col(text(Preferences::Channels))
                .col(text(Preferences::Categories))
                .col(string_null(Preferences::QuietHoursStart))
                .col(string_null(Preferences::QuietHoursEnd))
                .col(string_null(Preferences::QuietHoursTimezone))
                .col(timestamp_with_time_zone(Preferences::UpdatedAt))
                .foreign_key(&mut user_fk(Preferences::Table, "fk_preferences_user"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApiKeys::Table)
                .if_not_exists()
                .col(uuid(ApiKeys::Id).primary_key())
                .col(string(ApiKeys::Name))
                .col(string(ApiKeys::Prefix))
                .col(text(ApiKeys::Scopes))
                .col(string(ApiKeys::KeyHash).unique_key())
                .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            ApiKeys::Table.into_iden(),
            Preferences::Table.into_iden(),
            Notifications::Table.into_iden(),
            Devices::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
