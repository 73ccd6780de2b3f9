//! How a change to the catalog reaches every node. Every write bumps the
//! `catalog_version` row in its own transaction; then
//! - on PostgreSQL the bump notifies [`catalog_version::CHANNEL`] at commit and
//!   [`Listener`] on each node refreshes at once (after a reconnect it
//!   refreshes too: notifications sent meanwhile are lost);
//! - on SQLite (one node; the CLI may write the same file) each event first
//!   reads the version ([`Catalog::check_before_event`]);
//! - everywhere [`Poll`] re-reads the catalog every `reload_interval_secs`,
//!   the backstop for anything the above missed.

use super::catalog::{Catalog, CatalogSettings};
use crate::persistence::catalog_version;
use sea_orm::sqlx::postgres::{PgListener, PgNotification};
use sea_orm::DbBackend;
use std::time::Duration;
use tokio::sync::watch;

/// Wait before connecting the listener again after it failed.
pub const LISTENER_RETRY: Duration = Duration::from_secs(1);

/// Starts the loops this database needs; they end when `shutdown` turns true.
pub fn start(catalog: &Catalog, settings: &CatalogSettings, shutdown: watch::Receiver<bool>) {
    actix_web::rt::spawn(
        Poll::new(catalog.clone(), settings.reload_interval()).run(shutdown.clone()),
    );
    if catalog.db().get_database_backend() == DbBackend::Postgres {
        actix_web::rt::spawn(Listener::new(catalog.clone()).run(shutdown));
    }
}

/// Resolves when `shutdown` turns true; never if its sender is dropped.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The periodic full reload.
pub struct Poll {
    catalog: Catalog,
    interval: Duration,
}

impl Poll {
    pub fn new(catalog: Catalog, interval: Duration) -> Self {
        Self { catalog, interval }
    }

    /// One reload; a failure is logged and the next tick tries again.
    #[tracing::instrument(skip_all)]
    pub async fn step(&self) {
        if let Err(e) = self.catalog.reload().await {
            tracing::warn!(error = %e, "reloading the catalog failed");
        }
    }

    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate, and startup has just loaded.
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => self.step().await,
                _ = stopped(&mut shutdown) => return,
            }
        }
    }
}

/// PostgreSQL `LISTEN` on the catalog channel, on a connection of the pool.
pub struct Listener {
    catalog: Catalog,
}

impl Listener {
    pub fn new(catalog: Catalog) -> Self {
        Self { catalog }
    }

    /// Handles one notification: refreshes unless its version is installed.
    #[tracing::instrument(skip_all, fields(payload = notification.payload()))]
    pub async fn step(&self, notification: &PgNotification) {
        let announced = notification.payload().parse::<i64>().ok();
        if announced.is_some_and(|v| v <= self.catalog.installed_version()) {
            return;
        }
        self.refresh("notified").await;
    }

    async fn refresh(&self, why: &'static str) {
        match self.catalog.refresh().await {
            Ok(true) => tracing::debug!(
                why,
                version = self.catalog.installed_version(),
                "catalog reloaded"
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, why, "reloading the catalog failed"),
        }
    }

    async fn connect(&self) -> Result<Held, sea_orm::sqlx::Error> {
        let mut listener =
            PgListener::connect_with(self.catalog.db().get_postgres_connection_pool()).await?;
        listener.listen(catalog_version::CHANNEL).await?;
        Ok(Held(Some(listener)))
    }

    /// Listens until `shutdown`; a failed connection is retried every
    /// [`LISTENER_RETRY`], and each (re)connection is followed by a refresh.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let mut listener = tokio::select! {
                connected = self.connect() => match connected {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for catalog changes; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(LISTENER_RETRY) => continue,
                            _ = stopped(&mut shutdown) => return,
                        }
                    }
                },
                _ = stopped(&mut shutdown) => return,
            };
            self.refresh("listening").await;
            while let Some(l) = listener.0.as_mut() {
                let next = tokio::select! {
                    next = l.try_recv() => next,
                    _ = stopped(&mut shutdown) => return,
                };
                match next {
                    Ok(Some(n)) => self.step(&n).await,
                    // The connection dropped and was made again: anything
                    // sent in between is lost.
                    Ok(None) => self.refresh("reconnected").await,
                    Err(e) => {
                        tracing::warn!(error = %e, "catalog listener failed; reconnecting");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(LISTENER_RETRY) => {}
                _ = stopped(&mut shutdown) => return,
            }
        }
    }
}

/// A listener dropped with its runtime (a test's runtime ending, say) must
/// not run `PgListener`'s drop, which spawns a task and panics without a
/// runtime; it is leaked instead, as the process or runtime is going away.
struct Held(Option<PgListener>);

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(listener) = self.0.take() {
            if tokio::runtime::Handle::try_current().is_err() {
                std::mem::forget(listener);
            }
        }
    }
}
