//! Queries over the `entity` crate. Depends on the domain only; knows nothing
//! of HTTP, actors or providers.

pub mod api_keys;
pub mod catalog_version;
pub mod chat;
pub mod deliveries;
pub mod devices;
pub mod digests;
pub mod events;
pub mod files;
pub mod inbox;
mod nodelay;
pub mod notifications;
pub mod preference_history;
pub mod preferences;
pub mod recipients;
pub mod rules;
pub mod scheduled;
pub mod send_requests;
pub mod templates;
pub mod topic_fanouts;
pub mod topics;
pub mod users;
pub mod web_push;
pub mod webhooks;
pub mod writer;

use migration::MigratorTrait;
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend, DbErr};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the database and applies pending migrations.
///
/// SQLite runs in WAL mode with a busy timeout, so readers never block the
/// writer and concurrent writers queue instead of failing.
/// Most PostgreSQL connections a pool opens unless the settings say otherwise.
pub const DEFAULT_PG_MAX_CONNECTIONS: u32 = 32;

/// How much of the SQLite file is memory-mapped (pages read through the mapping).
const SQLITE_MMAP_BYTES: u64 = 256 * 1024 * 1024;

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, DEFAULT_PG_MAX_CONNECTIONS).await
}

/// [`connect`] with the PostgreSQL pool capped at `pg_max_connections` (each
/// node of a cluster holds its own pool against the server's `max_connections`).
pub async fn connect_with(url: &str, pg_max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    let mut url = url.to_string();
    let sqlite_file = files::sqlite_path(&url);
    if let Some(path) = &sqlite_file {
        files::prepare_sqlite(path)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", path.display())))?;
    }
    if url.starts_with("sqlite:") && !url.contains("mode=") && !url.contains(":memory:") {
        url.push_str(if url.contains('?') {
            "&mode=rwc"
        } else {
            "?mode=rwc"
        });
    }
    let mut opts = ConnectOptions::new(url.clone());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        opts.max_connections(8).map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                // Pages are read through the mapping, not a pread per page
                // per connection (measured: 3.6 % of CPU was pread under load).
                .pragma("mmap_size", SQLITE_MMAP_BYTES.to_string())
        });
    } else {
        opts.max_connections(pg_max_connections.max(2))
            .min_connections(2)
            .map_sqlx_postgres_pool_opts(|pool| {
                pool.after_connect(|conn, _| Box::pin(nodelay::disable_nagle(conn)))
            });
    }
    let db = Database::connect(opts).await?;
    migrate(&db, &url).await?;
    if let Some(path) = &sqlite_file {
        // A read-only mount or another owner's file still works; say so rather than refuse to start.
        if let Err(e) = files::restrict_sqlite(path) {
            tracing::warn!(path = %path.display(), error = %e, "could not make the database files owner-only (0600)");
        }
    }
    Ok(db)
}

/// Tries of the migrations when another process applies them at the same moment.
const MIGRATION_TRIES: u32 = 10;
/// The PostgreSQL advisory lock key that serialises migrations between nodes.
const MIGRATION_LOCK: i64 = 0x4845_5241_4c44; // "HERALD"

/// Applies pending migrations. Several nodes may start together on one
/// database: on PostgreSQL they queue on an advisory lock held by a
/// connection of its own; on SQLite a node that loses the race (a table or
/// index the other just made) tries again and finds the migration applied.
async fn migrate(db: &DatabaseConnection, url: &str) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    let lock = if db.get_database_backend() == DbBackend::Postgres {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.max_connections(1)
            .min_connections(1)
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(5));
        let lock = Database::connect(opts).await?;
        lock.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
            .await?;
        Some(lock)
    } else {
        None
    };
    let mut tries = 0;
    let result = loop {
        tries += 1;
        match migration::Migrator::up(db, None).await {
            Ok(()) => break Ok(()),
            Err(e) if tries < MIGRATION_TRIES => {
                tracing::warn!(error = %e, tries, "migrations failed; another node may be applying them");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
            }
            Err(e) => break Err(e),
        }
    };
    if let Some(lock) = lock {
        let _ = lock
            .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
            .await;
        let _ = lock.close().await;
    }
    result
}

/// A one-line description of the database for logs, without credentials.
pub fn describe(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "other",
    }
}

pub(crate) fn json_text(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn parse_json(field: &str, text: &str) -> StoreResult<serde_json::Value> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))
}

pub(crate) fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// Waits for the first queued job, then takes whatever else is queued, up to
/// `max`: the batch the writer and the recipient loader work on. `None` when
/// every sender is gone. The queue is held only while taking, not while working.
pub(crate) async fn take_batch<T>(
    rx: &tokio::sync::Mutex<tokio::sync::mpsc::Receiver<T>>,
    max: usize,
) -> Option<Vec<T>> {
    let mut rx = rx.lock().await;
    let first = rx.recv().await?;
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}
