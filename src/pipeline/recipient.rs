//! Where a matched rule finds its recipient in the event: the user id and
//! the contacts the event carries.

use super::PipelineError;
use crate::domain::{lookup, Email, PhoneNumber, Rule, UserId};
use serde_json::Value;

/// The user id a rule points at in the event. With none there, a platform
/// that keys users by email (a typical publisher's snippet sends only
/// `user_email`) gets the email address as the user id.
pub fn user_id_of(rule: &Rule, payload: &Value) -> Result<UserId, PipelineError> {
    let raw = match lookup(payload, &rule.recipient.user_id) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => match event_email(rule, payload) {
            Some(email) => email.as_str().to_string(),
            None => {
                return Err(PipelineError::Rejected(format!(
                    "missing user id: rule '{}' reads it from '{}' (or an email field)",
                    rule.name, rule.recipient.user_id
                )))
            }
        },
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

/// An email carried by the event (`user_email`), when valid.
pub fn event_email(rule: &Rule, payload: &Value) -> Option<Email> {
    first_str(
        payload,
        rule.recipient.email.as_deref(),
        &crate::domain::RecipientMap::DEFAULT_EMAIL_PATHS,
    )
    .and_then(|e| Email::parse(&e).ok())
}

pub fn event_phone(rule: &Rule, payload: &Value) -> Option<PhoneNumber> {
    first_str(
        payload,
        rule.recipient.phone.as_deref(),
        &crate::domain::RecipientMap::DEFAULT_PHONE_PATHS,
    )
    .and_then(|p| PhoneNumber::parse(&p).ok())
}
