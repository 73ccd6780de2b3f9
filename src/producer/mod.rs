//! The one producer. Every source — `/send`, REST events, RabbitMQ, Redis —
//! ends here: an [`Intent`] per recipient is planned (preferences, contacts,
//! quiet hours, the push throttle, rendering), then a unit is committed in one
//! transaction (notifications, deliveries, dedupe guard), and only then are
//! frames published and the outbox woken.

mod fanout;
mod in_app_parts;
pub mod plan;
#[cfg(test)]
mod plan_tests;
pub mod render;
mod send;

pub use fanout::Reached;
pub use send::{InAppExtras, SendOutcome};

use crate::bus::{Bus, BusMessage, DueSignal};
use crate::domain::{Category, Channel, Email, PhoneNumber, Priority, UserId};
use crate::persistence::recipients::RecipientLoader;
use crate::persistence::writer::{NotificationWriter, Unit, UnitResult};
use crate::persistence::{deliveries, users, StoreError};
use crate::protocol::ServerFrame;
use crate::stats::Stats;
use crate::templates::TemplateEngine;
use plan::{Facts, Planned};
use sea_orm::DatabaseConnection;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum ProducerError {
    #[error("template '{0}' does not exist")]
    TemplateNotFound(String),
    #[error("template '{template}': {message}")]
    Render { template: String, message: String },
    /// What was rendered or given is not a valid notification.
    #[error("{0}")]
    Content(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the words come from. Serializable, so a scheduled send can store it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Content {
    /// The request's own title and body, on every channel.
    Plain {
        title: String,
        body: String,
        action_url: Option<String>,
        data: Value,
    },
    /// A stored template, rendered per channel in the recipient's locale.
    Template {
        code: String,
        vars: Value,
        /// The in-app notification's `data`.
        data: Value,
        /// In-app title, body and action URL given by the caller win over the template's.
        in_app_overrides: (Option<String>, Option<String>, Option<String>),
    },
}

impl Content {
    /// A rule's template over an event's variables. Only what the template's
    /// `in_app.data` declares reaches the recipient, beside the event type: an
    /// event may carry other people's contacts or internal fields.
    pub fn for_rule(rule: &crate::domain::Rule, vars: Value, event_type: &str) -> Self {
        Self::Template {
            code: rule.template_code.clone(),
            vars,
            data: serde_json::json!({ "event_type": event_type }),
            in_app_overrides: (None, None, None),
        }
    }
}

/// What to send one user, before their preferences are applied.
#[derive(Clone, Debug)]
pub struct Intent {
    pub user: UserId,
    pub channels: Vec<Channel>,
    pub category: Category,
    pub priority: Priority,
    pub content: Content,
    /// The rule that matched, for events.
    pub rule_id: Option<uuid::Uuid>,
    pub request_id: Option<String>,
    /// Contacts carried by the event, used when the user has none stored.
    pub email: Option<Email>,
    pub phone: Option<PhoneNumber>,
}

/// What the producer is built from (startup owns the concrete types).
pub struct ProducerDeps {
    pub db: DatabaseConnection,
    pub writer: NotificationWriter,
    pub recipients: RecipientLoader,
    pub bus: Arc<dyn Bus>,
    pub due: DueSignal,
    pub stats: Arc<Stats>,
    pub templates: TemplateEngine,
    /// Most push deliveries per user per hour; 0 means no limit.
    pub push_per_hour: u64,
}

pub struct Producer {
    deps: ProducerDeps,
}

/// What a unit will need after its commit: whose frames, and whether the outbox has work.
struct Effects {
    users: Vec<UserId>,
    queued: bool,
}

impl Effects {
    fn of(unit: &Unit) -> Self {
        Self {
            users: unit
                .notifications
                .iter()
                .map(|n| n.user_id.clone())
                .collect(),
            queued: unit
                .deliveries
                .iter()
                .any(|d| !matches!(d.content, crate::domain::DeliveryContent::InApp)),
        }
    }
}

/// A committed unit, after its frames were published.
pub enum Committed {
    Duplicate,
    Written {
        notifications: Vec<crate::persistence::notifications::Inserted>,
        deliveries: Vec<uuid::Uuid>,
    },
}

impl Producer {
    pub fn new(deps: ProducerDeps) -> Self {
        Self { deps }
    }

    pub fn templates(&self) -> &TemplateEngine {
        &self.deps.templates
    }

    /// Loads the recipient (creating a first-seen user with the contacts the
    /// intent carries), counts recent pushes when a limit is set, and plans.
    #[tracing::instrument(skip_all, fields(user = %intent.user))]
    pub async fn plan(&self, intent: &Intent) -> Result<Planned, ProducerError> {
        if let Content::Template { code, .. } = &intent.content {
            if !self.deps.templates.exists(code) {
                return Err(ProducerError::TemplateNotFound(code.clone()));
            }
        }
        let (found, prefs) = self.deps.recipients.load(intent.user.clone()).await?;
        let user = match found {
            Some(u) => Some(u),
            None if intent.email.is_some() || intent.phone.is_some() => {
                let profile = users::Profile {
                    email: intent.email.as_ref().map(|e| e.as_str().to_string()),
                    phone: intent.phone.as_ref().map(|p| p.as_str().to_string()),
                    ..Default::default()
                };
                Some(users::create_if_missing(&self.deps.db, &intent.user, profile).await?)
            }
            // The commit creates a bare user row for anyone it writes anything for.
            None => None,
        };
        let stored = |f: fn(&entity::users::Model) -> Option<String>| user.as_ref().and_then(f);
        let email = stored(|u| u.email.clone())
            .and_then(|e| Email::parse(&e).ok())
            .or_else(|| intent.email.clone());
        let phone = stored(|u| u.phone.clone())
            .and_then(|p| PhoneNumber::parse(&p).ok())
            .or_else(|| intent.phone.clone());
        let locale = stored(|u| u.locale.clone());
        let push_recent = if self.deps.push_per_hour > 0 && intent.channels.contains(&Channel::Push)
        {
            let since = chrono::Utc::now() - chrono::Duration::hours(1);
            let recent = deliveries::pushes_since(&self.deps.db, &intent.user, since).await?;
            Some((recent, self.deps.push_per_hour))
        } else {
            None
        };
        let chat = self.chat_reach(intent).await?;
        let facts = Facts {
            prefs: &prefs,
            email,
            phone,
            push_recent,
            chat,
            now: chrono::Utc::now(),
        };
        plan::plan(intent, &facts, |channel| {
            render::render(
                &self.deps.templates,
                &intent.content,
                channel,
                locale.as_deref(),
            )
        })
    }

    /// The chat services the intent's rule and user have destinations for;
    /// looked up only when a chat channel is asked for.
    async fn chat_reach(&self, intent: &Intent) -> Result<plan::ChatReach, ProducerError> {
        use crate::persistence::chat::{services, Owner};
        if !intent.channels.iter().any(Channel::is_chat) {
            return Ok(plan::ChatReach::default());
        }
        let rule = match intent.rule_id {
            Some(id) => services(&self.deps.db, &Owner::Rule(id)).await?,
            None => vec![],
        };
        let user = services(&self.deps.db, &Owner::User(intent.user.clone())).await?;
        Ok(plan::ChatReach { rule, user })
    }

    /// Commits a unit, then publishes its new notifications and wakes the
    /// outbox. Nothing is published before the commit.
    pub async fn commit(&self, unit: Unit) -> Result<Committed, ProducerError> {
        let effects = Effects::of(&unit);
        let result = self
            .deps
            .writer
            .write(unit)
            .await
            .inspect_err(|_| self.deps.stats.failed())?;
        Ok(self.publish(effects, result))
    }

    /// Commits several units in ONE transaction (a topic fan-out batch), then
    /// publishes each written unit's notifications and wakes the outbox once.
    pub async fn commit_many(&self, units: Vec<Unit>) -> Result<Vec<Committed>, ProducerError> {
        let effects: Vec<Effects> = units.iter().map(Effects::of).collect();
        let results = self
            .deps
            .writer
            .write_many(units)
            .await
            .inspect_err(|_| self.deps.stats.failed())?;
        Ok(effects
            .into_iter()
            .zip(results)
            .map(|(e, r)| self.publish(e, r))
            .collect())
    }

    /// After a commit: one frame per new notification, and the outbox woken
    /// when anything but in-app was queued.
    fn publish(&self, effects: Effects, result: UnitResult) -> Committed {
        let Effects { users, queued } = effects;
        match result {
            UnitResult::Duplicate => {
                self.deps.stats.duplicate();
                Committed::Duplicate
            }
            UnitResult::Written {
                notifications,
                deliveries,
            } => {
                for (user, n) in users.iter().zip(&notifications) {
                    self.deps.bus.publish(BusMessage {
                        user_id: user.clone(),
                        seq: Some(n.view.seq),
                        frame: ServerFrame::Notification {
                            notification: &n.view,
                        }
                        .encode(),
                    });
                    self.deps.stats.processed();
                }
                if queued {
                    self.deps.due.ring();
                }
                Committed::Written {
                    notifications,
                    deliveries,
                }
            }
        }
    }

    pub(crate) fn db(&self) -> &DatabaseConnection {
        &self.deps.db
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.deps.stats
    }
}
