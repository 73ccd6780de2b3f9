//! Schema migrations, shared by the server (applied at start) and the
//! `migration` CLI. Types stay portable between SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_core;
mod m20261122_000002_events;
mod m20261201_000001_outbox;
mod m20261201_000002_hygiene;
mod m20261201_000010_web_push;
mod m20261201_000011_chat;
mod m20261201_000012_inbox;
mod m20261201_000013_catalog_version;
mod m20261202_000014_schedule;
mod m20261202_000015_digest;
mod m20261202_000016_topics;
mod m20261202_000017_trace;
mod m20261202_000018_escalation;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_core::Migration),
            Box::new(m20261122_000002_events::Migration),
            Box::new(m20261201_000001_outbox::Migration),
            Box::new(m20261201_000002_hygiene::Migration),
            Box::new(m20261201_000010_web_push::Migration),
            Box::new(m20261201_000011_chat::Migration),
            Box::new(m20261201_000012_inbox::Migration),
            Box::new(m20261201_000013_catalog_version::Migration),
            Box::new(m20261202_000014_schedule::Migration),
            Box::new(m20261202_000015_digest::Migration),
            Box::new(m20261202_000017_trace::Migration),
            Box::new(m20261202_000016_topics::Migration),
            Box::new(m20261202_000018_escalation::Migration),
        ]
    }
}
