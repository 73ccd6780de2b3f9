//! Turns one matched rule into what it produces for its recipient: an in-app
//! notification and `pending` deliveries, each rendered for the user's locale
//! and filtered by their preferences and quiet hours.

use super::PipelineError;
use crate::domain::{
    lookup, Channel, Email, NewNotification, PhoneNumber, PreferenceDocument, Rule, UserId,
};
use crate::persistence::writer::NewDelivery;
use crate::templates::TemplateEngine;
use chrono::Utc;
use serde_json::{json, Map, Value};

/// Who a rule's notification goes to, with the contacts to use.
pub struct Recipient {
    pub user_id: UserId,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub prefs: PreferenceDocument,
}

/// The user id a rule points at in the event. With none there, a platform
/// that keys users by email (seed 001's published snippet sends only
/// `user_email`) gets the email address as the user id.
pub fn user_id_of(rule: &Rule, payload: &Value) -> Result<UserId, PipelineError> {
    let raw = match lookup(payload, &rule.recipient.user_id) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ if event_email(rule, payload).is_some() => event_email(rule, payload).unwrap_or_default(),
        _ => {
            return Err(PipelineError::Rejected(format!(
                "missing user id: rule '{}' reads it from '{}' (or an email field)",
                rule.name, rule.recipient.user_id
            )))
        }
    };
    UserId::parse(raw).map_err(|e| PipelineError::Rejected(e.to_string()))
}

fn first_str(payload: &Value, explicit: Option<&str>, defaults: &[&str]) -> Option<String> {
    match explicit {
        Some(p) => lookup(payload, p)
            .and_then(Value::as_str)
            .map(str::to_string),
        None => defaults.iter().find_map(|p| {
            lookup(payload, p)
                .and_then(Value::as_str)
                .map(str::to_string)
        }),
    }
}

/// An email carried by the event (seed 001's `user_email`), when valid.
pub fn event_email(rule: &Rule, payload: &Value) -> Option<String> {
    first_str(
        payload,
        rule.recipient.email.as_deref(),
        &crate::domain::RecipientMap::DEFAULT_EMAIL_PATHS,
    )
    .and_then(|e| Email::parse(&e).ok().map(|e| e.as_str().to_string()))
}

pub fn event_phone(rule: &Rule, payload: &Value) -> Option<String> {
    first_str(
        payload,
        rule.recipient.phone.as_deref(),
        &crate::domain::RecipientMap::DEFAULT_PHONE_PATHS,
    )
    .and_then(|p| PhoneNumber::parse(&p).ok().map(|p| p.as_str().to_string()))
}

/// What one rule produced for one recipient, plus its audit line.
pub struct Planned {
    pub notification: Option<NewNotification>,
    /// The rule's rendered `webhook.body`, sent to matching endpoints instead of the raw event.
    pub webhook_body: Option<Value>,
    pub deliveries: Vec<NewDelivery>,
    pub audit: Value,
}

fn render_err(rule: &Rule, e: impl std::fmt::Display) -> PipelineError {
    PipelineError::Rejected(format!(
        "template '{}' (rule '{}'): {e}",
        rule.template_code, rule.name
    ))
}

pub fn plan(
    templates: &TemplateEngine,
    rule: &Rule,
    event_type: &str,
    payload: &Value,
    to: &Recipient,
) -> Result<Planned, PipelineError> {
    let now = Utc::now();
    let mut vars = payload.clone();
    if let Some(obj) = vars.as_object_mut() {
        obj.entry("event_type").or_insert_with(|| json!(event_type));
    }
    let mut channels = Map::new();
    let mut notification = None;
    let mut deliveries = vec![];
    let mut webhook_body = None;
    let quiet_until = to.prefs.quiet_until(rule.priority, now);
    for channel in &rule.channels {
        if !to.prefs.allows(*channel, &rule.category) {
            channels.insert(channel.as_str().into(), json!("suppressed"));
            continue;
        }
        let rendered = templates
            .render(
                &rule.template_code,
                to.locale.as_deref(),
                channel.as_str(),
                &vars,
            )
            .map_err(|e| render_err(rule, e))?;
        let template = Some((rendered.code.clone(), rendered.version));
        let part = |name: &str| rendered.parts.get(name).cloned().unwrap_or_default();
        let address = match channel {
            Channel::Email => to.email.clone(),
            Channel::Sms => to.phone.clone(),
            _ => None,
        };
        let content = match channel {
            Channel::InApp => {
                let mut n = NewNotification::parse(
                    to.user_id.clone(),
                    Some(rule.category.as_str().to_string()),
                    part("title"),
                    part("body"),
                    rendered
                        .parts
                        .get("action_url")
                        .filter(|u| !u.trim().is_empty())
                        .cloned(),
                    Some(json!({"event_type": event_type, "event": payload})),
                    rule.priority,
                    None,
                )
                .map_err(|e| render_err(rule, e))?;
                n.template = template.clone();
                notification = Some(n);
                channels.insert("in_app".into(), json!("created"));
                json!({})
            }
            Channel::Email | Channel::Sms if address.is_none() => {
                channels.insert(
                    channel.as_str().into(),
                    json!(format!(
                        "skipped: the user has no {}",
                        if *channel == Channel::Email {
                            "email"
                        } else {
                            "phone number"
                        }
                    )),
                );
                continue;
            }
            Channel::Email => {
                json!({"to": address, "subject": part("subject"), "html": part("html"), "text": part("text"), "category": rule.category.as_str(), "priority": rule.priority.as_str()})
            }
            Channel::Sms => {
                json!({"to": address, "text": part("text"), "category": rule.category.as_str(), "priority": rule.priority.as_str()})
            }
            Channel::Push => {
                let data = rendered
                    .parts
                    .get("data")
                    .map(|d| serde_json::from_str::<Value>(d))
                    .transpose()
                    .map_err(|e| render_err(rule, format!("push.data is not JSON: {e}")))?;
                json!({"title": part("title"), "body": part("body"), "data": data, "priority": rule.priority.as_str(), "category": rule.category.as_str()})
            }
            Channel::Webhook => {
                // Sent to the matching endpoints by the pipeline, as this body.
                let body = serde_json::from_str::<Value>(&part("body"))
                    .map_err(|e| render_err(rule, format!("webhook.body is not JSON: {e}")))?;
                webhook_body = Some(body);
                channels.insert("webhook".into(), json!("to matching endpoints"));
                continue;
            }
        };
        let deferred = matches!(channel, Channel::Email | Channel::Push | Channel::Sms)
            .then_some(quiet_until)
            .flatten();
        deliveries.push(NewDelivery {
            user_id: to.user_id.as_str().to_string(),
            channel: channel.as_str().to_string(),
            content,
            template,
            rule_id: Some(rule.id),
            notification: (*channel == Channel::InApp).then_some(0),
            not_before: deferred.unwrap_or(now),
        });
        if *channel != Channel::InApp {
            let status = if deferred.is_some() {
                "pending (quiet hours)"
            } else {
                "pending"
            };
            channels.insert(channel.as_str().into(), json!(status));
        }
    }
    let audit = json!({"rule_id": rule.id, "rule": rule.name, "user_id": to.user_id.as_str(), "channels": channels});
    Ok(Planned {
        notification,
        webhook_body,
        deliveries,
        audit,
    })
}
