//! The event pipeline: the one path every source (RabbitMQ, Redis, REST) feeds.
//!
//! normalise → dedupe → match rules → resolve recipients → preferences and
//! quiet hours → render → ONE transaction (event guard row, notifications,
//! deliveries) → after commit: publish in-app frames, mark the fast path.

mod catalog;
pub mod fast;
mod plan;

pub use catalog::{Catalog, RELOAD_INTERVAL};

use crate::bus::{Bus, BusMessage};
use crate::domain::{Event, EventError};
use crate::persistence::recipients::RecipientLoader;
use crate::persistence::writer::{EventRecord, NotificationWriter, Unit, UnitResult};
use crate::persistence::{events, users, StoreError};
use crate::protocol::ServerFrame;
use crate::stats::Stats;
use crate::templates::TemplateEngine;
use fast::FastIdempotency;
use plan::{event_email, event_phone, plan, user_id_of, Recipient};
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
    /// Most push deliveries per user per hour; 0 means no limit.
    pub push_per_hour: u64,
    pub db: DatabaseConnection,
    pub writer: NotificationWriter,
    pub recipients: RecipientLoader,
    pub bus: Arc<dyn Bus>,
    pub catalog: Catalog,
    pub fast: Option<Arc<dyn FastIdempotency>>,
    pub stats: Arc<Stats>,
    pub due: crate::bus::DueSignal,
}

pub struct Pipeline {
    push_per_hour: u64,
    db: DatabaseConnection,
    writer: NotificationWriter,
    recipients: RecipientLoader,
    bus: Arc<dyn Bus>,
    catalog: Catalog,
    fast: Option<Arc<dyn FastIdempotency>>,
    stats: Arc<Stats>,
    due: crate::bus::DueSignal,
}

impl Pipeline {
    pub fn new(deps: PipelineDeps) -> Self {
        let PipelineDeps {
            push_per_hour,
            db,
            writer,
            recipients,
            bus,
            catalog,
            fast,
            stats,
            due,
        } = deps;
        Self {
            push_per_hour,
            db,
            writer,
            recipients,
            bus,
            catalog,
            fast,
            stats,
            due,
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

    /// Reads a raw message and processes it. `fallback_type` is the routing key or channel.
    #[tracing::instrument(skip_all, fields(source))]
    pub async fn ingest(
        &self,
        body: &[u8],
        fallback_type: Option<&str>,
        source: &str,
    ) -> Result<Outcome, PipelineError> {
        let event = Event::normalise(body, fallback_type)?;
        self.process(event, source).await
    }

    pub async fn process(&self, event: Event, source: &str) -> Result<Outcome, PipelineError> {
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
                let publish: Vec<_> = unit
                    .notifications
                    .iter()
                    .map(|n| n.user_id.clone())
                    .collect();
                let deliveries = unit.deliveries.len();
                match self.writer.write(unit).await? {
                    UnitResult::Duplicate => {
                        self.stats.duplicate();
                        Ok(outcome(Status::Duplicate, 0, 0))
                    }
                    UnitResult::Written { notifications, .. } => {
                        for (user, n) in publish.iter().zip(&notifications) {
                            if n.created {
                                self.bus.publish(BusMessage {
                                    user_id: user.clone(),
                                    seq: Some(n.view.seq),
                                    frame: ServerFrame::Notification {
                                        notification: &n.view,
                                    }
                                    .encode(),
                                });
                                self.stats.processed();
                            }
                        }
                        if deliveries > 0 {
                            self.due.ring();
                        }
                        if let Some(fast) = &self.fast {
                            fast.set_status(&event.id, "processed").await;
                        }
                        Ok(outcome(status, notifications.len(), deliveries))
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
            let user_id = user_id_of(rule, &payload)?;
            let (email, phone) = (event_email(rule, &payload), event_phone(rule, &payload));
            let (found, prefs) = self.recipients.load(user_id.clone()).await?;
            let user = match found {
                Some(u) => u,
                None => {
                    // First sight: create the user with the contacts the event carries.
                    let profile = users::Profile {
                        email: email.clone(),
                        phone: phone.clone(),
                        ..Default::default()
                    };
                    users::create_if_missing(&self.db, &user_id, profile).await?
                }
            };
            let to = Recipient {
                email: user.email.clone().or(email),
                phone: user.phone.clone().or(phone),
                locale: user.locale.clone(),
                prefs,
                user_id,
            };
            let planned = plan(
                &self.catalog.templates,
                rule,
                &event.event_type,
                &payload,
                &to,
            )?;
            let mut planned = planned;
            self.throttle(&mut planned).await?;
            if webhook_body.is_none() {
                webhook_body = planned.webhook_body.clone();
            }
            let base = unit.notifications.len();
            if let Some(n) = planned.notification {
                unit.notifications.push(n);
            }
            unit.deliveries
                .extend(planned.deliveries.into_iter().map(|mut d| {
                    d.notification = d.notification.map(|_| base);
                    d
                }));
            audit.push(planned.audit);
        }
        let endpoints = self.catalog.endpoints_for(&event.event_type);
        let payload_body = webhook_body.unwrap_or_else(|| payload.clone());
        for endpoint in &endpoints {
            let body = json!({"type": event.event_type, "timestamp": chrono::Utc::now(), "data": payload_body});
            unit.deliveries.push(crate::persistence::writer::NewDelivery {
                user_id: String::new(),
                channel: "webhook".into(),
                content: json!({"endpoint_id": endpoint, "event_id": event.id, "payload": body}),
                template: None,
                rule_id: None,
                notification: None,
                not_before: chrono::Utc::now(),
            });
        }
        if !endpoints.is_empty() {
            audit.push(json!({"webhooks": endpoints}));
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
        unit.event = Some(EventRecord {
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            source: source.to_string(),
            status: if status == Status::NoMatch {
                "no_match".into()
            } else {
                "processed".into()
            },
            outcome,
        });
        Ok((unit, status))
    }

    /// Drops push deliveries past the per-user hourly limit, recording why.
    async fn throttle(&self, planned: &mut plan::Planned) -> Result<(), PipelineError> {
        if self.push_per_hour == 0 || !planned.deliveries.iter().any(|d| d.channel == "push") {
            return Ok(());
        }
        let user = planned
            .deliveries
            .iter()
            .find(|d| d.channel == "push")
            .map(|d| d.user_id.clone())
            .unwrap_or_default();
        let since = chrono::Utc::now() - chrono::Duration::hours(1);
        let recent =
            crate::persistence::deliveries::count_since(&self.db, &user, "push", since).await?;
        if recent >= self.push_per_hour {
            planned.deliveries.retain(|d| d.channel != "push");
            planned.audit["channels"]["push"] = json!(format!(
                "throttled: {} push notifications in the last hour (limit {})",
                recent, self.push_per_hour
            ));
        }
        Ok(())
    }

    /// Parks a message that cannot be processed, with its reason.
    pub async fn dead_letter(
        &self,
        source: &str,
        reason: &str,
        body: &[u8],
        metadata: Value,
    ) -> Result<uuid::Uuid, StoreError> {
        tracing::warn!(source, reason, "dead-lettered an event");
        let fallback = metadata.get("routing_key").and_then(Value::as_str);
        let event_id = Event::normalise(body, fallback).ok().map(|e| e.id);
        Ok(
            events::add_dead_letter(&self.db, event_id, source, reason, body, metadata)
                .await?
                .id,
        )
    }
}
