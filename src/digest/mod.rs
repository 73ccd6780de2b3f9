//! Digests and throttles. The pipeline asks [`Router::hold`] about every
//! matched rule: the event is sent now, dropped by a throttle, or folded
//! into a digest bucket in the same transaction as its dedupe guard. The
//! [`DigestFlusher`] sends due buckets through the one producer.

mod flush;

pub use flush::{DigestFlusher, FLUSH_POLL_INTERVAL};

use crate::domain::{
    digest_zone, DigestKey, DigestSpec, DigestWindow, DomainError, Email, Excess, PhoneNumber,
    Priority, Rule, ThrottleScope, UserId,
};
use crate::persistence::digests::{sent_since, Counted, DigestFold, FlushPlan};
use crate::persistence::{preferences, users, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};

/// Digest limits and the flush loop (`HERALD_DIGEST__*`).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default)]
pub struct DigestSettings {
    /// Items a bucket holds before it flushes early, when the rule names no `max_items`.
    pub default_max_items: u32,
    /// The most a rule's `max_items` may raise it to.
    pub max_items_cap: u32,
    /// Most due buckets one flush step claims.
    pub flush_batch: u64,
    /// How long a flush's claim holds a bucket; after a crash it is flushed again this long after the claim.
    pub lease_secs: u64,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self {
            default_max_items: 50,
            max_items_cap: 1000,
            flush_batch: 100,
            lease_secs: 30,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error("digest key: {0}")]
    Key(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DigestError> for crate::pipeline::PipelineError {
    fn from(e: DigestError) -> Self {
        match e {
            DigestError::Store(s) => Self::Transient(s),
            other => Self::Rejected(other.to_string()),
        }
    }
}

/// A rule's `digest` section, with a template key checked to compile.
pub fn parse_rule_digest(v: Option<&Value>) -> Result<Option<DigestSpec>, DomainError> {
    let spec = DigestSpec::parse(v)?;
    if let Some(DigestKey::Template(t)) = spec.as_ref().map(DigestSpec::key) {
        crate::templates::environment()
            .template_from_str(t)
            .map_err(|e| DomainError::InvalidField {
                field: "digest.key",
                reason: e.to_string(),
            })?;
    }
    Ok(spec)
}

/// The event and recipient a rule matched, as the pipeline found them.
pub struct Matched<'a> {
    pub rule: &'a Rule,
    pub user: &'a UserId,
    pub event_id: &'a str,
    /// The template variables (the payload with `event_type`).
    pub vars: &'a Value,
    pub email: Option<Email>,
    pub phone: Option<PhoneNumber>,
}

/// Decides, per matched rule, whether an event waits (digest) or is dropped (throttle).
pub struct Router {
    db: DatabaseConnection,
    settings: DigestSettings,
}

impl Router {
    pub fn new(db: DatabaseConnection, settings: DigestSettings) -> Self {
        Self { db, settings }
    }

    /// `None`: send now. `Some((fold, audit))`: the event is held, folded
    /// when `fold` is set and dropped otherwise; `audit` says why.
    #[tracing::instrument(skip_all, fields(rule = %m.rule.name, user = %m.user))]
    pub async fn hold(
        &self,
        m: Matched<'_>,
    ) -> Result<Option<(Option<DigestFold>, Value)>, DigestError> {
        let rule = m.rule;
        if rule.digest.is_none() && rule.throttle.is_none() || is_critical(rule, m.vars) {
            return Ok(None);
        }
        let now = Utc::now();
        let entry = |what: Value| json!({"rule_id": rule.id, "rule": rule.name, "user_id": m.user.as_str(), "held": what});
        let (spec, reason) = match (&rule.throttle, &rule.digest) {
            (Some(t), digest) => {
                let counted = match t.scope() {
                    ThrottleScope::Rule => Counted::Rule(rule.id),
                    ThrottleScope::Category => Counted::Category(&rule.category),
                };
                let since = now - t.window().to_chrono();
                if sent_since(&self.db, m.user, counted, since).await? < u64::from(t.limit()) {
                    return Ok(None);
                }
                let reason = match t.scope() {
                    ThrottleScope::Rule => format!(
                        "throttled: {} in {} for rule {}",
                        t.limit(),
                        t.window(),
                        rule.name
                    ),
                    ThrottleScope::Category => format!(
                        "throttled: {} in {} for category {}",
                        t.limit(),
                        t.window(),
                        rule.category.as_str()
                    ),
                };
                if t.excess() == Excess::Drop {
                    return Ok(Some((
                        None,
                        entry(json!({"throttled": reason, "excess": "dropped"})),
                    )));
                }
                let spec = digest
                    .clone()
                    .unwrap_or_else(|| DigestSpec::for_throttle(t));
                (spec, reason)
            }
            (None, Some(d)) => (d.clone(), "digest".to_string()),
            (None, None) => return Ok(None),
        };
        let key = match spec.key() {
            DigestKey::None => String::new(),
            DigestKey::Path(p) => DigestKey::from_path(m.vars, p),
            DigestKey::Template(t) => DigestKey::bounded(
                crate::templates::environment()
                    .render_str(t, minijinja::Value::from(minijinja::value::Serde(m.vars)))
                    .map_err(|e| DigestError::Key(e.to_string()))?,
            ),
        };
        let (window, due_at) = self.window(&spec, m.rule, m.user, now).await?;
        let fold = DigestFold {
            user: m.user.clone(),
            rule_id: rule.id,
            key: key.clone(),
            due_at,
            max_items: spec.max_items(self.settings.default_max_items, self.settings.max_items_cap),
            event_id: m.event_id.to_string(),
            payload: m.vars.clone(),
            plan: FlushPlan {
                template_code: rule.template_code.clone(),
                channels: rule.channels.clone(),
                category: rule.category.clone(),
                priority: rule.priority,
                email: m.email,
                phone: m.phone,
            },
            reason: reason.clone(),
        };
        let audit = entry(
            json!({"digested": {"key": key, "window": window.to_string(), "reason": reason}}),
        );
        Ok(Some((Some(fold), audit)))
    }

    /// The user's window for the rule's category, else the rule's, and when
    /// a bucket opened now would be due (in the user's zone).
    async fn window(
        &self,
        spec: &DigestSpec,
        rule: &Rule,
        user: &UserId,
        now: DateTime<Utc>,
    ) -> Result<(DigestWindow, DateTime<Utc>), DigestError> {
        let prefs = preferences::get(&self.db, user).await?;
        let window = prefs
            .digest
            .get(&rule.category)
            .copied()
            .unwrap_or(DigestWindow::Every(spec.window()));
        if let DigestWindow::Every(span) = window {
            return Ok((window, now + span.to_chrono()));
        }
        let profile = users::get(&self.db, user).await?.and_then(|u| u.timezone);
        let zone = digest_zone(
            profile.as_deref(),
            prefs.quiet_hours.as_ref().map(|q| q.timezone()),
        );
        Ok((window, window.due(now, zone)))
    }
}

/// A critical rule, or an event that says `"priority": "critical"`, is never held.
fn is_critical(rule: &Rule, vars: &Value) -> bool {
    rule.priority == Priority::Critical
        || vars
            .get("priority")
            .and_then(|p| Priority::parse(p).ok())
            .is_some_and(|p| p == Priority::Critical)
}

#[cfg(test)]
mod tests;
