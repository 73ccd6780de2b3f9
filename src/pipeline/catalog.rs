//! Rules and templates held in memory: read on every event, changed rarely.
//! Routes reload after a change; a background loop reloads periodically so
//! several nodes converge.

use crate::domain::Rule;
use crate::persistence::{rules, templates, StoreResult};
use crate::templates::TemplateEngine;
use sea_orm::DatabaseConnection;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often every node re-reads rules and templates.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Catalog {
    db: DatabaseConnection,
    pub templates: TemplateEngine,
    rules: Arc<RwLock<Arc<Vec<Rule>>>>,
    /// Reloads run one at a time: a slow one that read before a change must
    /// not finish after, and install, the newer one.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl Catalog {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            templates: TemplateEngine::new(),
            rules: Arc::new(RwLock::new(Arc::new(vec![]))),
            reloading: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub async fn reload(&self) -> StoreResult<()> {
        let _one_at_a_time = self.reloading.lock().await;
        let loaded = rules::load_enabled(&self.db).await?;
        self.templates
            .load(templates::load_current(&self.db).await?);
        if let Ok(mut g) = self.rules.write() {
            *g = Arc::new(loaded);
        }
        Ok(())
    }

    pub fn rules(&self) -> Arc<Vec<Rule>> {
        match self.rules.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub async fn run(self) {
        let mut tick = tokio::time::interval(RELOAD_INTERVAL);
        loop {
            tick.tick().await;
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "reloading rules and templates failed");
            }
        }
    }
}
