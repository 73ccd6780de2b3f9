//! Rules, templates and webhook subscriptions held in memory: read on every
//! event, changed rarely. Each installed catalog remembers the
//! `catalog_version` it was read at, so a node reloads only when the row says
//! something changed, and never installs an older catalog over a newer one.
//! How changes reach a node (notifications, per-event checks, the periodic
//! backstop) is in [`super::catalog_sync`].

use crate::domain::{EventPattern, Rule};
use crate::persistence::{catalog_version, rules, templates, webhooks, StoreResult};
use crate::templates::TemplateEngine;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use serde::Deserialize;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How the catalog follows changes (`HERALD_CATALOG__*`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct CatalogSettings {
    /// Seconds between full re-reads on every node: the backstop behind
    /// PostgreSQL notifications and SQLite's per-event version check.
    pub reload_interval_secs: u64,
    /// SQLite only: an event first reads the catalog version unless it was
    /// read less than this many milliseconds ago; 0 reads it before every event.
    pub check_interval_ms: u64,
}

impl Default for CatalogSettings {
    fn default() -> Self {
        Self {
            reload_interval_secs: 10,
            check_interval_ms: 0,
        }
    }
}

impl CatalogSettings {
    pub fn reload_interval(&self) -> Duration {
        Duration::from_secs(self.reload_interval_secs)
    }
}

/// A webhook endpoint's id and the event patterns it subscribed to.
type Subscription = (uuid::Uuid, Vec<EventPattern>);

/// No catalog installed yet: any version read from the database is newer.
const NOTHING_INSTALLED: i64 = -1;

#[derive(Clone)]
pub struct Catalog {
    db: DatabaseConnection,
    pub templates: TemplateEngine,
    rules: Arc<RwLock<Arc<Vec<Rule>>>>,
    /// Enabled webhook endpoints: (id, patterns).
    endpoints: Arc<RwLock<Arc<Vec<Subscription>>>>,
    /// Reloads run one at a time: a slow one that read before a change must
    /// not finish after, and install over, the newer one.
    reloading: Arc<tokio::sync::Mutex<()>>,
    /// The `catalog_version` the installed catalog was read at.
    installed: Arc<AtomicI64>,
    /// Set on SQLite, where another process (the CLI) may write the same file
    /// and nothing notifies this one.
    event_check: Option<Arc<CheckGate>>,
}

impl Catalog {
    /// `template_max_output_bytes` caps every rendered part.
    pub fn new(
        db: DatabaseConnection,
        template_max_output_bytes: usize,
        settings: &CatalogSettings,
    ) -> Self {
        let event_check = (db.get_database_backend() == DbBackend::Sqlite).then(|| {
            Arc::new(CheckGate::new(Duration::from_millis(
                settings.check_interval_ms,
            )))
        });
        Self {
            db,
            templates: TemplateEngine::new().with_max_output(template_max_output_bytes),
            rules: Arc::new(RwLock::new(Arc::new(vec![]))),
            endpoints: Arc::new(RwLock::new(Arc::new(vec![]))),
            reloading: Arc::new(tokio::sync::Mutex::new(())),
            installed: Arc::new(AtomicI64::new(NOTHING_INSTALLED)),
            event_check,
        }
    }

    pub(super) fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The `catalog_version` of the catalog in use.
    pub fn installed_version(&self) -> i64 {
        self.installed.load(Ordering::Acquire)
    }

    /// Re-reads everything, whatever the version says (start, after a local
    /// change, the periodic backstop). Returns whether it installed.
    pub async fn reload(&self) -> StoreResult<bool> {
        let _one_at_a_time = self.reloading.lock().await;
        self.load_locked().await
    }

    /// Reloads only if the committed version is newer than the installed one:
    /// one indexed read when nothing changed.
    pub async fn refresh(&self) -> StoreResult<bool> {
        if catalog_version::current(&self.db).await? <= self.installed_version() {
            return Ok(false);
        }
        let _one_at_a_time = self.reloading.lock().await;
        // Whoever held the lock may have installed it already.
        if catalog_version::current(&self.db).await? <= self.installed_version() {
            return Ok(false);
        }
        self.load_locked().await
    }

    /// Called before each event: on SQLite, a rate-limited [`Catalog::refresh`]
    /// so a `herald import` into the same file applies to the next event. A
    /// failed check keeps the catalog in use; the event's own writes report the database.
    pub async fn check_before_event(&self) {
        let Some(gate) = &self.event_check else {
            return;
        };
        if !gate.due(gate.now_ms()) {
            return;
        }
        if let Err(e) = self.refresh().await {
            tracing::warn!(error = %e, "checking the catalog version failed");
        }
    }

    /// Holds `reloading`. The version is read first: every read after it sees
    /// that version's changes or newer ones, so the catalog is at least that new.
    async fn load_locked(&self) -> StoreResult<bool> {
        let version = catalog_version::current(&self.db).await?;
        if version < self.installed_version() {
            return Ok(false);
        }
        let loaded = rules::load_enabled(&self.db).await?;
        let current_templates = templates::load_current(&self.db).await?;
        let endpoints = load_endpoints(&self.db).await?;
        self.templates.load(current_templates);
        if let Ok(mut g) = self.endpoints.write() {
            *g = Arc::new(endpoints);
        }
        if let Ok(mut g) = self.rules.write() {
            *g = Arc::new(loaded);
        }
        self.installed.store(version, Ordering::Release);
        Ok(true)
    }

    /// Enabled endpoints whose patterns match `event_type`.
    pub fn endpoints_for(&self, event_type: &str) -> Vec<uuid::Uuid> {
        let all = match self.endpoints.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        all.iter()
            .filter(|(_, ps)| ps.iter().any(|p| p.matches(event_type)))
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn rules(&self) -> Arc<Vec<Rule>> {
        match self.rules.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

async fn load_endpoints(db: &impl ConnectionTrait) -> StoreResult<Vec<Subscription>> {
    let mut endpoints = vec![];
    for e in webhooks::enabled(db).await? {
        let patterns = webhooks::patterns(&e)?
            .iter()
            .filter_map(|p| EventPattern::parse(p).ok())
            .collect();
        endpoints.push((e.id, patterns));
    }
    Ok(endpoints)
}

/// Lets at most one version check through per interval, across all events.
struct CheckGate {
    interval_ms: u64,
    epoch: Instant,
    /// Milliseconds after `epoch` of the last check let through, plus one (0: never).
    last: AtomicU64,
}

impl CheckGate {
    fn new(interval: Duration) -> Self {
        Self {
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            epoch: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a check at `now_ms` goes ahead; concurrent callers race for one slot.
    fn due(&self, now_ms: u64) -> bool {
        if self.interval_ms == 0 {
            return true;
        }
        let stamp = now_ms.saturating_add(1);
        let last = self.last.load(Ordering::Acquire);
        if last != 0 && stamp.saturating_sub(last) < self.interval_ms {
            return false;
        }
        self.last
            .compare_exchange(last, stamp, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sqlite_catalog(dir: &tempfile::TempDir) -> (DatabaseConnection, Catalog) {
        let url = format!("sqlite://{}/catalog.db", dir.path().display());
        let db = crate::persistence::connect(&url).await.expect("database");
        let catalog = Catalog::new(db.clone(), 1024, &CatalogSettings::default());
        (db, catalog)
    }

    fn rule(name: &str) -> Rule {
        crate::packs::parse_rule(
            &serde_json::json!({"name": name, "event_pattern": "a.*", "channels": ["in_app"], "template_code": "t"}),
            uuid::Uuid::now_v7(),
        )
        .expect("rule")
    }

    #[tokio::test]
    async fn a_write_bumps_the_version_and_a_refresh_installs_it_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, catalog) = sqlite_catalog(&dir).await;
        assert!(catalog.reload().await.expect("first load"));
        let before = catalog.installed_version();
        assert!(
            !catalog.refresh().await.expect("refresh"),
            "nothing changed"
        );
        rules::create(&db, &rule("one")).await.expect("create");
        assert!(catalog.refresh().await.expect("refresh"));
        assert_eq!(catalog.installed_version(), before + 1);
        assert_eq!(catalog.rules().len(), 1);
        assert!(
            !catalog.refresh().await.expect("refresh"),
            "already current"
        );
    }

    #[tokio::test]
    async fn a_catalog_read_at_an_older_version_is_never_installed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, catalog) = sqlite_catalog(&dir).await;
        rules::create(&db, &rule("one")).await.expect("create");
        assert!(catalog.reload().await.expect("load"));
        // As if a newer catalog had been installed meanwhile.
        catalog
            .installed
            .store(catalog.installed_version() + 5, Ordering::Release);
        rules::create(&db, &rule("two")).await.expect("create");
        assert!(!catalog.reload().await.expect("reload"));
        assert_eq!(catalog.rules().len(), 1, "the older read was not installed");
    }

    #[test]
    fn a_zero_interval_checks_before_every_event() {
        let gate = CheckGate::new(Duration::ZERO);
        assert!((0..5).all(|_| gate.due(7)));
    }

    #[test]
    fn a_check_within_the_interval_of_the_last_one_is_skipped() {
        let gate = CheckGate::new(Duration::from_millis(50));
        assert!(gate.due(0), "the first check always goes ahead");
        assert!(!gate.due(10));
        assert!(!gate.due(49));
        assert!(gate.due(50));
        assert!(!gate.due(60));
        assert!(gate.due(200));
    }
}
