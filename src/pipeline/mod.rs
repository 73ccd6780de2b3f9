//! The event pipeline: normalise → dedupe → match rules → find each rule's
//! recipient → hand an [`Intent`] per recipient to the one producer, which
//! plans and commits the event's unit (its guard row included) and publishes.

mod catalog;
pub mod catalog_sync;
mod dead_letters;
pub mod fast;
pub mod ingress;
mod recipient;
mod topic_rule;

pub use catalog::{Catalog, CatalogSettings};

use crate::domain::{Event, EventError};
use crate::metrics::EventOutcome;
use crate::persistence::writer::{EventRecord, Guard, Unit};
use crate::persistence::StoreError;
use crate::producer::plan::{audit_channels, webhook_deliveries};
use crate::producer::{Committed, Content, Intent, Producer, ProducerError};
use crate::stats::Stats;
use crate::templates::TemplateEngine;
use fast::FastIdempotency;
use recipient::{event_email, event_phone, user_id_of};
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The message is not an event; it goes to the dead-letter queue.
    #[error("malformed event: {0}")]
    Malformed(#[from] EventError),
    /// A valid event that cannot be turned into notifications (no user id, a template error).
    #[error("{0}")]
    Rejected(String),
    /// No enabled rule matches the event's type. It is parked (not marked
    /// processed) so it can be replayed once a rule exists.
    #[error("no enabled rule matches event type '{0}'")]
    Unrouted(String),
    /// The database is unavailable: retry later.
    #[error("temporary failure: {0}")]
    Transient(#[from] StoreError),
}

impl PipelineError {
    /// Whether redelivering the same message later could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Processed,
    Duplicate,
    NoMatch,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub event_id: String,
    pub event_type: String,
    pub status: Status,
    pub notifications: usize,
    pub deliveries: usize,
}

/// What the pipeline is built from (startup owns the concrete types).
pub struct PipelineDeps {
    pub db: DatabaseConnection,
    pub producer: Arc<Producer>,
    pub catalog: Catalog,
    pub fast: Option<Arc<dyn FastIdempotency>>,
    pub stats: Arc<Stats>,
    pub digest: crate::digest::DigestSettings,
    /// Where users are connected; an escalation skips its first delay for one who is not.
    pub presence: Option<Arc<dyn crate::bus::Presence>>,
}

pub struct Pipeline {
    db: DatabaseConnection,
    producer: Arc<Producer>,
    catalog: Catalog,
    fast: Option<Arc<dyn FastIdempotency>>,
    stats: Arc<Stats>,
    digests: crate::digest::Router,
    presence: Option<Arc<dyn crate::bus::Presence>>,
}

impl Pipeline {
    pub fn new(deps: PipelineDeps) -> Self {
        let PipelineDeps {
            db,
            producer,
            catalog,
            fast,
            stats,
            digest,
            presence,
        } = deps;
        Self {
            digests: crate::digest::Router::new(db.clone(), digest),
            db,
            producer,
            catalog,
            fast,
            stats,
            presence,
        }
    }

    pub fn has_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn templates(&self) -> &TemplateEngine {
        &self.catalog.templates
    }

    pub fn producer(&self) -> &Arc<Producer> {
        &self.producer
    }

    /// Reads a raw message and processes it. `fallback_type` is the routing key or channel.
    #[tracing::instrument(skip_all, fields(source))]
    pub async fn ingest(
        &self,
        body: &[u8],
        fallback_type: Option<&str>,
        source: &str,
    ) -> Result<Outcome, PipelineError> {
        let result = match Event::normalise(body, fallback_type) {
            Ok(event) => self.process(event, source).await,
            Err(e) => Err(e.into()),
        };
        self.counted(source, result)
    }

    /// Counts one pass through the pipeline by source and outcome.
    fn counted(
        &self,
        source: &str,
        result: Result<Outcome, PipelineError>,
    ) -> Result<Outcome, PipelineError> {
        if let Some(outcome) = EventOutcome::of(&result) {
            self.stats.metrics.event(source, outcome);
        }
        result
    }

    pub async fn process(&self, event: Event, source: &str) -> Result<Outcome, PipelineError> {
        let accepted = std::time::Instant::now();
        self.catalog.check_before_event().await;
        let outcome = |status, n, d| Outcome {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            status,
            notifications: n,
            deliveries: d,
        };
        if let Some(fast) = &self.fast {
            if fast.status(&event.id).await.as_deref() == Some("processed") {
                self.stats.duplicate();
                return Ok(outcome(Status::Duplicate, 0, 0));
            }
        }
        match self.build_unit(&event, source).await {
            Ok((unit, status)) => {
                let (notifications, deliveries) = (unit.notifications.len(), unit.deliveries.len());
                match self.producer.commit(unit).await {
                    Err(e) => Err(rejected("commit", e)),
                    Ok(Committed::Duplicate) => Ok(outcome(Status::Duplicate, 0, 0)),
                    Ok(Committed::Written { .. }) => {
                        self.stats.metrics.committed(accepted);
                        if let Some(fast) = &self.fast {
                            fast.set_status(&event.id, "processed").await;
                        }
                        Ok(outcome(status, notifications, deliveries))
                    }
                }
            }
            Err(e) => {
                if !e.is_transient() {
                    self.stats.failed();
                    if let Some(fast) = &self.fast {
                        fast.set_status(&event.id, "failed").await;
                    }
                }
                Err(e)
            }
        }
    }

    async fn build_unit(
        &self,
        event: &Event,
        source: &str,
    ) -> Result<(Unit, Status), PipelineError> {
        let payload = Value::Object(event.payload.clone());
        let rules = self.catalog.rules();
        let matched: Vec<_> = rules
            .iter()
            .filter(|r| r.pattern.matches(&event.event_type))
            .collect();
        let mut unit = Unit::default();
        let mut audit = vec![];
        let mut webhook_body: Option<Value> = None;
        for rule in matched {
            if let Some(cond) = rule.condition.as_deref().filter(|c| !c.trim().is_empty()) {
                match TemplateEngine::condition(cond, &payload) {
                    Ok(true) => {}
                    Ok(false) => {
                        audit.push(json!({"rule_id": rule.id, "rule": rule.name, "skipped": "condition is false"}));
                        continue;
                    }
                    Err(e) => {
                        return Err(PipelineError::Rejected(format!(
                            "rule '{}' condition: {e}",
                            rule.name
                        )))
                    }
                }
            }
            if let Some(target) = &rule.recipient.topic {
                self.topic_rule(rule, target, event, &mut unit, &mut audit)
                    .await?;
                continue;
            }
            let user = user_id_of(rule, &payload)?;
            let mut vars = payload.clone();
            if let Some(obj) = vars.as_object_mut() {
                obj.entry("event_type")
                    .or_insert_with(|| json!(event.event_type));
            }
            let matched = crate::digest::Matched {
                rule,
                user: &user,
                event_id: &event.id,
                vars: &vars,
                email: event_email(rule, &payload),
                phone: event_phone(rule, &payload),
            };
            if let Some((fold, entry)) = self.digests.hold(matched).await? {
                unit.digests.extend(fold);
                audit.push(entry);
                continue;
            }
            let intent = Intent {
                user: user.clone(),
                channels: rule.channels.clone(),
                category: rule.category.clone(),
                priority: rule.priority,
                content: Content::for_rule(rule, vars, &event.event_type),
                rule_id: Some(rule.id),
                request_id: None,
                email: event_email(rule, &payload),
                phone: event_phone(rule, &payload),
            };
            if let Some(delay) = rule.delay {
                let (row, shown) =
                    crate::schedule::delayed(self.templates(), &intent, delay, &event.id)
                        .map_err(|e| rejected(&rule.name, e))?;
                unit.scheduled.push(row);
                audit.push(json!({"rule_id": rule.id, "rule": rule.name, "user_id": user.as_str(), "scheduled": shown}));
                continue;
            }
            let (intent, ladder) = match &rule.escalation {
                Some(esc) => {
                    let offline = crate::escalation::offline(self.presence.as_deref(), &user).await;
                    let (intent, ladder) = crate::escalation::Ladder::prepare(
                        intent,
                        esc,
                        &event.id,
                        chrono::Utc::now(),
                        offline,
                    )
                    .map_err(|e| rejected(&rule.name, e))?;
                    (intent, Some(ladder))
                }
                None => (intent, None),
            };
            let planned = self
                .producer
                .plan(&intent)
                .await
                .map_err(|e| rejected(&rule.name, e))?;
            // Later steps watch the in-app notification: without one there is nothing to escalate.
            if let Some(ladder) = ladder.filter(|_| planned.notification.is_some()) {
                let (rows, shown) = ladder.into_parts();
                unit.scheduled.extend(rows);
                audit.push(json!({"rule_id": rule.id, "rule": rule.name, "user_id": user.as_str(), "escalation": shown}));
            }
            if webhook_body.is_none() {
                webhook_body = planned.webhook_body.clone();
            }
            let base = unit.notifications.len();
            if let Some(n) = planned.notification {
                unit.notifications.push(n);
            }
            unit.deliveries
                .extend(planned.deliveries.into_iter().map(|mut d| {
                    d.notification = d.notification.map(|i| base + i);
                    d
                }));
            audit.push(json!({"rule_id": rule.id, "rule": rule.name, "user_id": user.as_str(), "channels": audit_channels(&planned.outcomes)}));
        }
        let endpoints = self.catalog.endpoints_for(&event.event_type);
        let payload_body = webhook_body.unwrap_or_else(|| payload.clone());
        unit.deliveries.extend(webhook_deliveries(
            &endpoints,
            Some(&event.id),
            &event.event_type,
            &payload_body,
            chrono::Utc::now(),
        ));
        if !endpoints.is_empty() {
            audit.push(json!({"webhooks": endpoints}));
        }
        if let Some(reason) = topic_rule::refusal(&audit) {
            return Err(PipelineError::Rejected(reason));
        }
        if audit.is_empty() && !rules.iter().any(|r| r.pattern.matches(&event.event_type)) {
            return Err(PipelineError::Unrouted(event.event_type.clone()));
        }
        let status = if audit.is_empty() {
            Status::NoMatch
        } else {
            Status::Processed
        };
        let outcome = if audit.is_empty() {
            json!({"reason": "every matching rule's condition was false"})
        } else {
            json!({"rules": audit, "meta": event.meta})
        };
        unit.trace = crate::trace::for_unit(event.trace.as_ref());
        unit.guard = Some(Guard::Event(EventRecord {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            source: source.to_string(),
            status: if status == Status::NoMatch {
                "no_match".into()
            } else {
                "processed".into()
            },
            outcome,
        }));
        Ok((unit, status))
    }
}

/// A producer failure while handling an event: the database is transient, the rest is the event's fault.
fn rejected(rule: &str, e: ProducerError) -> PipelineError {
    match e {
        ProducerError::Store(s) => PipelineError::Transient(s),
        other => PipelineError::Rejected(format!("rule '{rule}': {other}")),
    }
}
