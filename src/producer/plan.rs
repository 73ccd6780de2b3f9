//! Planning, pure: (intent, the recipient's facts, now) → the notification,
//! the deliveries and a per-channel outcome. `/send` and every matched rule
//! come through here, so the decision table exists once.

use super::render::Rendered;
use super::{Content, Intent, ProducerError};
use crate::domain::{
    Channel, ChannelOutcome, ChatContent, Contact, DeliveryContent, Email, EmailContent,
    NewNotification, PhoneNumber, PreferenceDocument, PushContent, SmsContent, WebhookContent,
};
use crate::persistence::writer::NewDelivery;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What is known about the recipient when planning.
pub struct Facts<'a> {
    pub prefs: &'a PreferenceDocument,
    pub email: Option<Email>,
    pub phone: Option<PhoneNumber>,
    /// Push notifications in the last hour and the limit, when a limit is set.
    pub push_recent: Option<(u64, u64)>,
    /// Chat services with a destination: the rule's own (which wins), or the user's.
    pub chat: ChatReach,
    pub now: DateTime<Utc>,
}

/// Which chat services a message can reach, and through whose destination.
#[derive(Clone, Debug, Default)]
pub struct ChatReach {
    pub rule: Vec<Channel>,
    pub user: Vec<Channel>,
}

impl ChatReach {
    fn reaches(&self, channel: Channel) -> bool {
        self.rule.contains(&channel) || self.user.contains(&channel)
    }
}

/// What one intent produced.
#[derive(Debug, Default)]
pub struct Planned {
    pub notification: Option<NewNotification>,
    /// Linked to `notification` (index 0) when there is one.
    pub deliveries: Vec<NewDelivery>,
    pub outcomes: BTreeMap<Channel, ChannelOutcome>,
    /// A rule's rendered `webhook` body, sent to the matching endpoints.
    pub webhook_body: Option<Value>,
}

/// Whether a channel goes ahead, and when; or why not. Renders nothing.
pub fn decide(
    channel: Channel,
    intent: &Intent,
    facts: &Facts,
) -> Result<Option<DateTime<Utc>>, ChannelOutcome> {
    if !facts.prefs.allows(channel, &intent.category) {
        return Err(ChannelOutcome::Suppressed);
    }
    match channel {
        Channel::Webhook if intent.rule_id.is_none() => return Err(ChannelOutcome::Unavailable),
        Channel::Email if facts.email.is_none() => {
            return Err(ChannelOutcome::Skipped {
                missing: Contact::Email,
            })
        }
        Channel::Sms if facts.phone.is_none() => {
            return Err(ChannelOutcome::Skipped {
                missing: Contact::Phone,
            })
        }
        c if c.is_chat() && !facts.chat.reaches(c) => {
            return Err(ChannelOutcome::Skipped {
                missing: Contact::ChatDestination,
            })
        }
        Channel::Push => {
            if let Some((recent, limit)) = facts.push_recent.filter(|(r, l)| r >= l) {
                return Err(ChannelOutcome::Throttled { recent, limit });
            }
        }
        _ => {}
    }
    // Quiet hours hold back what would make a device buzz; the feed is silent.
    let buzzes = matches!(
        channel,
        Channel::Email | Channel::Push | Channel::WebPush | Channel::Sms
    );
    let held = (buzzes || channel.is_chat())
        .then(|| facts.prefs.quiet_until(intent.priority, facts.now))
        .flatten();
    Ok(held)
}

/// Plans one intent. `render` is asked only for channels that go ahead.
pub fn plan(
    intent: &Intent,
    facts: &Facts,
    mut render: impl FnMut(Channel) -> Result<(Rendered, Option<(String, i32)>), ProducerError>,
) -> Result<Planned, ProducerError> {
    let mut out = Planned::default();
    let mut queued = vec![];
    // In-app first, so every other delivery can link to its notification.
    let mut channels = intent.channels.clone();
    channels.sort_by_key(|c| *c != Channel::InApp);
    for channel in channels {
        let held = match decide(channel, intent, facts) {
            Ok(held) => held,
            Err(outcome) => {
                out.outcomes.insert(channel, outcome);
                continue;
            }
        };
        let (rendered, template) = render(channel)?;
        let content = match (rendered, channel) {
            (
                Rendered::InApp {
                    title,
                    body,
                    action_url,
                    data: declared,
                    tags,
                    actions,
                },
                _,
            ) => {
                let explicit = match &intent.content {
                    Content::Plain { data, .. } | Content::Template { data, .. } => data,
                };
                let data = notification_data(declared, explicit);
                let mut n = NewNotification::parse(
                    intent.user.clone(),
                    Some(intent.category.as_str().to_string()),
                    title,
                    body,
                    action_url.filter(|u| !u.trim().is_empty()),
                    Some(data),
                    intent.priority,
                    intent.request_id.clone(),
                )
                .map_err(|e| ProducerError::Content(e.to_string()))?;
                n.template = template.clone();
                n.tags = tags;
                n.actions = actions;
                out.notification = Some(n);
                out.outcomes.insert(channel, ChannelOutcome::Accepted);
                DeliveryContent::InApp
            }
            (Rendered::Webhook { body }, _) => {
                out.webhook_body = body;
                out.outcomes.insert(channel, ChannelOutcome::ToEndpoints);
                continue;
            }
            (
                Rendered::Email {
                    subject,
                    text,
                    html,
                },
                _,
            ) => {
                if subject.trim().is_empty() && text.trim().is_empty() {
                    return Err(ProducerError::Content(
                        "the email has no subject and no text".into(),
                    ));
                }
                DeliveryContent::Email(EmailContent {
                    to: facts.email.clone().ok_or_else(|| missing("email"))?,
                    subject,
                    text,
                    html: html.filter(|h| !h.trim().is_empty()),
                })
            }
            (Rendered::Sms { text }, _) => {
                if text.trim().is_empty() {
                    return Err(ProducerError::Content("the SMS text is empty".into()));
                }
                DeliveryContent::Sms(SmsContent {
                    to: facts.phone.clone().ok_or_else(|| missing("phone"))?,
                    text,
                })
            }
            (
                Rendered::Chat {
                    title,
                    body,
                    action_url,
                    part,
                },
                _,
            ) => {
                if title.trim().is_empty() && body.trim().is_empty() && part.is_none() {
                    return Err(ProducerError::Content(format!(
                        "the {channel} message has no title, no body and no {channel} part"
                    )));
                }
                let content = ChatContent {
                    title,
                    body,
                    action_url: action_url.filter(|u| !u.trim().is_empty()),
                    part,
                    rule: intent
                        .rule_id
                        .filter(|_| facts.chat.rule.contains(&channel)),
                };
                match channel {
                    Channel::Slack => DeliveryContent::Slack(content),
                    Channel::Discord => DeliveryContent::Discord(content),
                    Channel::Teams => DeliveryContent::Teams(content),
                    other => {
                        return Err(ProducerError::Content(format!(
                            "chat content on the {other} channel"
                        )))
                    }
                }
            }
            (Rendered::Push { title, body, data }, _) => {
                if title.trim().is_empty() && body.trim().is_empty() {
                    return Err(ProducerError::Content(
                        "the push has no title and no body".into(),
                    ));
                }
                let push = PushContent {
                    title,
                    body,
                    data,
                    action_url: match &intent.content {
                        Content::Plain { action_url, .. } => action_url.clone(),
                        Content::Template { .. } => None,
                    },
                };
                match channel {
                    Channel::WebPush => DeliveryContent::WebPush(push),
                    _ => DeliveryContent::Push(push),
                }
            }
        };
        if channel != Channel::InApp {
            out.outcomes
                .insert(channel, ChannelOutcome::Queued { until: held });
        }
        queued.push(NewDelivery {
            user: Some(intent.user.clone()),
            content,
            category: intent.category.clone(),
            priority: intent.priority,
            template,
            rule_id: intent.rule_id,
            notification: None,
            not_before: held.unwrap_or(facts.now),
        });
    }
    let linked = out.notification.is_some().then_some(0);
    out.deliveries = queued
        .into_iter()
        .map(|d| NewDelivery {
            notification: linked,
            ..d
        })
        .collect();
    Ok(out)
}

/// The notification's `data`: the template's declared `in_app.data` object,
/// then the intent's explicit keys (a `/send`'s `data`, a rule's `event_type`),
/// which win. Nothing from an event reaches the feed unless a template declares it.
fn notification_data(declared: Option<Value>, explicit: &Value) -> Value {
    let mut out = match declared {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    if let Value::Object(e) = explicit {
        out.extend(e.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Value::Object(out)
}

fn missing(what: &str) -> ProducerError {
    ProducerError::Content(format!("no {what} to send to"))
}

/// One delivery per endpoint subscribed to an event type, each carrying the
/// Standard Webhooks body `{type, timestamp, data}`.
pub fn webhook_deliveries(
    endpoints: &[uuid::Uuid],
    event_id: Option<&str>,
    event_type: &str,
    data: &Value,
    now: DateTime<Utc>,
) -> Vec<NewDelivery> {
    endpoints
        .iter()
        .map(|endpoint| NewDelivery {
            user: None,
            content: DeliveryContent::Webhook(WebhookContent {
                endpoint: *endpoint,
                event_id: event_id.map(str::to_string),
                payload: json!({"type": event_type, "timestamp": now, "data": data}),
            }),
            category: crate::domain::Category::default_category(),
            priority: crate::domain::Priority::Normal,
            template: None,
            rule_id: None,
            notification: None,
            not_before: now,
        })
        .collect()
}

/// The audit line for one planned intent.
pub fn audit_channels(outcomes: &BTreeMap<Channel, ChannelOutcome>) -> Value {
    Value::Object(
        outcomes
            .iter()
            .map(|(c, o)| (c.as_str().to_string(), json!(o.describe())))
            .collect(),
    )
}
