use super::{bounded_text, Actions, DomainError, NotificationAction, NotificationId, Tags, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How urgent a notification is. `high` and `critical` bypass quiet hours.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Critical,
}

impl Priority {
    /// Accepts a name, or a 1–10 integer scale (higher is more urgent).
    pub fn parse(raw: &serde_json::Value) -> Result<Self, DomainError> {
        match raw {
            serde_json::Value::String(s) => match s.to_ascii_lowercase().as_str() {
                "low" => Ok(Self::Low),
                "normal" | "medium" | "default" => Ok(Self::Normal),
                "high" => Ok(Self::High),
                "critical" | "urgent" => Ok(Self::Critical),
                _ => Err(DomainError::InvalidPriority(format!(
                    "'{s}'; expected low, normal, high, critical or 1-10"
                ))),
            },
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(1..=3) => Ok(Self::Low),
                Some(4..=6) => Ok(Self::Normal),
                Some(7..=8) => Ok(Self::High),
                Some(9..=10) => Ok(Self::Critical),
                _ => Err(DomainError::InvalidPriority(format!("{n} is outside 1-10"))),
            },
            serde_json::Value::Null => Ok(Self::Normal),
            other => Err(DomainError::InvalidPriority(format!("unexpected {other}"))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// Reads a stored value; unknown strings fall back to normal rather than failing a read.
    pub fn from_stored(s: &str) -> Self {
        Self::parse(&serde_json::Value::String(s.to_string())).unwrap_or_default()
    }
}

/// A notification category such as `marketing` or `booking`; preferences are keyed by it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Category(String);

impl Category {
    pub const DEFAULT: &'static str = "general";

    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        let ok = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(ok) {
            return Err(DomainError::InvalidCategory(format!(
                "'{raw}' must be 1 to 64 characters of letters, digits and - _ . :"
            )));
        }
        Ok(Self(raw))
    }

    pub fn default_category() -> Self {
        Self(Self::DEFAULT.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a click on the notification leads: an absolute http(s) URL or an app path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionUrl(String);

impl ActionUrl {
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        let lower = raw.to_ascii_lowercase();
        // Browsers read `/\host` like `//host`: a relative link with a backslash
        // or a doubled slash could leave the app for another origin.
        let path = raw.split(['?', '#']).next().unwrap_or_default();
        let relative_ok = path.starts_with('/') && !path.contains("//") && !path.contains('\\');
        let allowed = lower.starts_with("https://") || lower.starts_with("http://") || relative_ok;
        if !allowed || raw.len() > 2048 || raw.chars().any(char::is_control) {
            return Err(DomainError::InvalidField {
                field: "action_url",
                reason:
                    "must be an http(s) URL or a path starting with '/' (without '//' or '\\'), \
                         at most 2048 characters"
                        .into(),
            });
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An idempotency key: 1 to 255 characters.
pub fn parse_request_id(raw: String) -> Result<String, DomainError> {
    if raw.is_empty() || raw.len() > 255 {
        return Err(DomainError::InvalidField {
            field: "request_id",
            reason: "must be 1 to 255 characters".into(),
        });
    }
    if super::has_control(&raw) {
        return Err(DomainError::ControlCharacter {
            field: "request_id".into(),
        });
    }
    Ok(raw)
}

/// A validated in-app notification, ready to be stored.
#[derive(Clone, Debug)]
pub struct NewNotification {
    pub user_id: UserId,
    pub category: Category,
    pub title: String,
    pub body: String,
    pub action_url: Option<ActionUrl>,
    pub data: serde_json::Value,
    pub priority: Priority,
    pub request_id: Option<String>,
    pub template: Option<(String, i32)>,
    pub tags: Tags,
    pub actions: Actions,
}

impl NewNotification {
    pub const MAX_TITLE: usize = 512;
    pub const MAX_BODY: usize = 16 * 1024;

    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        user_id: UserId,
        category: Option<String>,
        title: String,
        body: String,
        action_url: Option<String>,
        data: Option<serde_json::Value>,
        priority: Priority,
        request_id: Option<String>,
    ) -> Result<Self, DomainError> {
        let category = match category {
            Some(c) => Category::parse(c)?,
            None => Category::default_category(),
        };
        let title = bounded_text("title", title, Self::MAX_TITLE)?;
        let body = bounded_text("body", body, Self::MAX_BODY)?;
        if title.trim().is_empty() && body.trim().is_empty() {
            return Err(DomainError::InvalidField {
                field: "title",
                reason: "a notification needs a title or a body".into(),
            });
        }
        let data = data.unwrap_or(serde_json::Value::Object(Default::default()));
        if !data.is_object() {
            return Err(DomainError::InvalidField {
                field: "data",
                reason: "must be a JSON object".into(),
            });
        }
        let request_id = request_id.map(parse_request_id).transpose()?;
        Ok(Self {
            user_id,
            category,
            title,
            body,
            action_url: action_url.map(ActionUrl::parse).transpose()?,
            data,
            priority,
            request_id,
            template: None,
            tags: Tags::default(),
            actions: Actions::default(),
        })
    }
}

/// A stored notification as clients see it, in REST responses and WebSocket frames.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub seq: i64,
    pub category: String,
    pub title: String,
    pub body: String,
    pub action_url: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub priority: Priority,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    /// When the user first saw it listed; reading implies seeing.
    pub seen_at: Option<DateTime<Utc>>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Hidden from the default list until then.
    pub snoozed_until: Option<DateTime<Utc>>,
    /// At most 10, each 1–32 characters of `[A-Za-z0-9_.:-]`.
    pub tags: Vec<String>,
    /// At most 2 buttons; take one with `POST /notifications/{id}/actions/{index}`.
    pub actions: Vec<NotificationAction>,
}

impl NotificationView {
    pub fn id(&self) -> NotificationId {
        NotificationId::from_uuid(self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn priority_accepts_names_and_seed_integers() {
        assert_eq!(Priority::parse(&json!("HIGH")), Ok(Priority::High));
        assert_eq!(Priority::parse(&json!(10)), Ok(Priority::Critical));
        assert_eq!(Priority::parse(&json!(1)), Ok(Priority::Low));
        assert!(Priority::parse(&json!(11)).is_err());
        assert!(Priority::parse(&json!([1])).is_err());
    }

    #[test]
    fn action_urls_refuse_script_and_protocol_relative_links() {
        assert!(ActionUrl::parse("javascript:alert(1)").is_err());
        assert!(ActionUrl::parse("//evil.example").is_err());
        assert!(ActionUrl::parse("/\\evil.example").is_err());
        assert!(ActionUrl::parse("/a/\\evil").is_err());
        assert!(ActionUrl::parse("/a//evil").is_err());
        assert!(ActionUrl::parse("/a\tb").is_err());
        assert!(ActionUrl::parse("https://movieapp.com/a?next=/x").is_ok());
        assert!(ActionUrl::parse("/login?next=https://movieapp.com/x").is_ok());
        assert!(ActionUrl::parse("?x=/y").is_err());
        assert!(ActionUrl::parse("/bookings/1").is_ok());
        assert!(ActionUrl::parse("https://movieapp.com/x").is_ok());
    }
}
