//! A rule maps matching events to notifications.

use super::{Category, Channel, DomainError, EventPattern, Priority};
use serde_json::{json, Value};

/// Where the recipient sits in an event: dot paths into the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipientMap {
    /// Path to the user id; default `user_id`.
    pub user_id: String,
    /// Path to an email to use when the user has none; default `user_email`, then `email`.
    pub email: Option<String>,
    /// Path to a phone number (E.164); default `phone`, then `user_phone`.
    pub phone: Option<String>,
    /// Fan out to this topic's subscribers instead of one user (exclusive with the paths above).
    pub topic: Option<super::TopicTarget>,
}

impl Default for RecipientMap {
    fn default() -> Self {
        Self {
            user_id: "user_id".into(),
            email: None,
            phone: None,
            topic: None,
        }
    }
}

impl RecipientMap {
    pub const DEFAULT_EMAIL_PATHS: [&'static str; 2] = ["user_email", "email"];
    pub const DEFAULT_PHONE_PATHS: [&'static str; 3] = ["phone", "user_phone", "phone_number"];

    pub fn to_json(&self) -> Value {
        if let Some(topic) = &self.topic {
            return json!({"topic": topic.as_str()});
        }
        json!({"user_id": self.user_id, "email": self.email, "phone": self.phone})
    }
}

/// Looks up a dot path (`user.id`) in a JSON object.
pub fn lookup<'a>(payload: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(payload, |v, key| v.get(key))
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub id: uuid::Uuid,
    pub name: String,
    pub pattern: EventPattern,
    pub channels: Vec<Channel>,
    pub template_code: String,
    pub category: Category,
    pub priority: Priority,
    pub recipient: RecipientMap,
    pub condition: Option<String>,
    pub enabled: bool,
    /// Send this long after the event instead of at once.
    pub delay: Option<super::Span>,
    /// Fold matching events into one notification per (user, rule, key).
    pub digest: Option<super::DigestSpec>,
    /// At most N notifications per user per window.
    pub throttle: Option<super::Throttle>,
    /// Later steps on other channels while the first notification stays unread.
    pub escalation: Option<super::Escalation>,
}

fn valid_path(field: &'static str, p: &str) -> Result<String, DomainError> {
    let ok = !p.is_empty()
        && p.len() <= 128
        && p.split('.').all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    ok.then(|| p.to_string()).ok_or(DomainError::InvalidField {
        field,
        reason: format!("'{p}' is not a dot path like user.id"),
    })
}

impl RecipientMap {
    pub fn parse(v: Option<&Value>) -> Result<Self, DomainError> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Self::default());
        };
        let obj = v.as_object().ok_or(DomainError::InvalidField {
            field: "recipient",
            reason: "must be an object".into(),
        })?;
        let get = |k: &str| obj.get(k).and_then(Value::as_str);
        for k in obj.keys() {
            if !["user_id", "email", "phone", "topic"].contains(&k.as_str()) {
                return Err(DomainError::InvalidField {
                    field: "recipient",
                    reason: format!("unknown key '{k}'"),
                });
            }
        }
        let topic = super::topic_target::from_recipient(obj)?;
        Ok(Self {
            topic,
            user_id: get("user_id")
                .map(|p| valid_path("recipient.user_id", p))
                .transpose()?
                .unwrap_or_else(|| "user_id".into()),
            email: get("email")
                .map(|p| valid_path("recipient.email", p))
                .transpose()?,
            phone: get("phone")
                .map(|p| valid_path("recipient.phone", p))
                .transpose()?,
        })
    }
}
