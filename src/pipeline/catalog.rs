//! Rules and templates held in memory: read on every event, changed rarely.
//! Routes reload after a change; a background loop reloads periodically so
//! several nodes converge.

use crate::domain::{EventPattern, Rule};
use crate::persistence::{rules, templates, webhooks, StoreResult};
use crate::templates::TemplateEngine;
use sea_orm::DatabaseConnection;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often every node re-reads rules and templates.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(10);

/// A webhook endpoint's id and the event patterns it subscribed to.
type Subscription = (uuid::Uuid, Vec<EventPattern>);

#[derive(Clone)]
pub struct Catalog {
    db: DatabaseConnection,
    pub templates: TemplateEngine,
    rules: Arc<RwLock<Arc<Vec<Rule>>>>,
    /// Enabled webhook endpoints: (id, patterns).
    endpoints: Arc<RwLock<Arc<Vec<Subscription>>>>,
    /// Reloads run one at a time: a slow one that read before a change must
    /// not finish after, and install, the newer one.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl Catalog {
    /// `template_max_output_bytes` caps every rendered part.
    pub fn new(db: DatabaseConnection, template_max_output_bytes: usize) -> Self {
        Self {
            db,
            templates: TemplateEngine::new().with_max_output(template_max_output_bytes),
            rules: Arc::new(RwLock::new(Arc::new(vec![]))),
            endpoints: Arc::new(RwLock::new(Arc::new(vec![]))),
            reloading: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub async fn reload(&self) -> StoreResult<()> {
        let _one_at_a_time = self.reloading.lock().await;
        let loaded = rules::load_enabled(&self.db).await?;
        self.templates
            .load(templates::load_current(&self.db).await?);
        let mut endpoints = vec![];
        for e in webhooks::enabled(&self.db).await? {
            let patterns = webhooks::patterns(&e)?
                .iter()
                .filter_map(|p| EventPattern::parse(p).ok())
                .collect();
            endpoints.push((e.id, patterns));
        }
        if let Ok(mut g) = self.endpoints.write() {
            *g = Arc::new(endpoints);
        }
        if let Ok(mut g) = self.rules.write() {
            *g = Arc::new(loaded);
        }
        Ok(())
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
