//! The inbox's own values: tags, actions, snoozes and the list filter. Each
//! is parsed once at the edge; limits are named constants.

use super::{ActionUrl, DomainError};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most tags on one notification.
pub const MAX_TAGS: usize = 10;
/// Longest tag, in characters.
pub const MAX_TAG_LEN: usize = 32;
/// Most actions (buttons) on one notification.
pub const MAX_ACTIONS: usize = 2;
/// Longest action label, in characters.
pub const MAX_LABEL_LEN: usize = 40;
/// Longest event type an action may emit (the same bound as any event's type).
pub const MAX_EVENT_TYPE_LEN: usize = 255;
/// The default for `inbox.max_snooze_days`.
pub const DEFAULT_MAX_SNOOZE_DAYS: u32 = 90;

fn tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.:-".contains(c)
}

/// A label such as `invoice` or `team:core`: 1–32 characters of `[A-Za-z0-9_.:-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > MAX_TAG_LEN || !raw.chars().all(tag_char) {
            return Err(DomainError::InvalidTag(format!(
                "'{}' must be 1 to {MAX_TAG_LEN} characters of letters, digits and _ . : -",
                raw.chars().take(MAX_TAG_LEN + 8).collect::<String>()
            )));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A notification's tags: at most [`MAX_TAGS`], without repeats, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub fn parse(raw: Vec<String>) -> Result<Self, DomainError> {
        if raw.len() > MAX_TAGS {
            return Err(DomainError::InvalidTag(format!(
                "at most {MAX_TAGS} tags per notification"
            )));
        }
        let mut tags: Vec<Tag> = Vec::with_capacity(raw.len());
        for t in raw {
            let tag = Tag::parse(t)?;
            if !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        Ok(Self(tags))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }
}

/// An event type an action emits: dot-separated words of `[A-Za-z0-9_:-]`.
fn event_type(raw: String) -> Result<String, DomainError> {
    let ok = !raw.is_empty()
        && raw.len() <= MAX_EVENT_TYPE_LEN
        && raw.split('.').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-:".contains(c))
        });
    if !ok {
        return Err(DomainError::InvalidAction(format!(
            "event must be an event type like 'invite.accepted' (at most {MAX_EVENT_TYPE_LEN} characters)"
        )));
    }
    Ok(raw)
}

/// A button on a notification: it opens a URL, or emits an event into the pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NotificationAction {
    Url {
        label: String,
        /// An http(s) URL or an app path, as `action_url`.
        url: String,
    },
    Event {
        label: String,
        /// The event type ingested when the action is taken.
        event: String,
    },
}

/// An action as a client writes it: exactly one of `url` and `event`.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    #[schema(min_length = 1, max_length = 40)]
    pub label: String,
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    #[schema(
        min_length = 1,
        max_length = 255,
        pattern = "^[A-Za-z0-9_:-]+(\\.[A-Za-z0-9_:-]+)*$"
    )]
    pub event: Option<String>,
}

/// A parsed action written back as input, so a stored one is parsed again
/// through [`NotificationAction::parse`] when it is read.
impl From<NotificationAction> for ActionInput {
    fn from(action: NotificationAction) -> Self {
        match action {
            NotificationAction::Url { label, url } => Self {
                label,
                url: Some(url),
                event: None,
            },
            NotificationAction::Event { label, event } => Self {
                label,
                url: None,
                event: Some(event),
            },
        }
    }
}

impl NotificationAction {
    pub fn parse(raw: ActionInput) -> Result<Self, DomainError> {
        let label = raw.label;
        let chars = label.chars().count();
        if label.trim().is_empty() || chars > MAX_LABEL_LEN || super::has_control(&label) {
            return Err(DomainError::InvalidAction(format!(
                "label must be 1 to {MAX_LABEL_LEN} printable characters"
            )));
        }
        match (raw.url, raw.event) {
            (Some(url), None) => {
                let url = ActionUrl::parse(url)
                    .map_err(|e| DomainError::InvalidAction(format!("url: {e}")))?;
                Ok(Self::Url {
                    label,
                    url: url.as_str().to_string(),
                })
            }
            (None, Some(event)) => Ok(Self::Event {
                label,
                event: event_type(event)?,
            }),
            _ => Err(DomainError::InvalidAction(
                "an action needs exactly one of url and event".into(),
            )),
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Self::Url { label, .. } | Self::Event { label, .. } => label,
        }
    }
}

/// A notification's actions: at most [`MAX_ACTIONS`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Actions(Vec<NotificationAction>);

impl Actions {
    pub fn parse(raw: Vec<ActionInput>) -> Result<Self, DomainError> {
        if raw.len() > MAX_ACTIONS {
            return Err(DomainError::InvalidAction(format!(
                "at most {MAX_ACTIONS} actions per notification"
            )));
        }
        Ok(Self(
            raw.into_iter()
                .map(NotificationAction::parse)
                .collect::<Result<_, _>>()?,
        ))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, index: usize) -> Option<&NotificationAction> {
        self.0.get(index)
    }

    pub fn into_vec(self) -> Vec<NotificationAction> {
        self.0
    }
}

/// When a snoozed notification comes back: in the future, at most `max_days` ahead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snooze(DateTime<Utc>);

impl Snooze {
    pub fn parse(raw: &str, now: DateTime<Utc>, max_days: u32) -> Result<Self, DomainError> {
        let until = DateTime::parse_from_rfc3339(raw)
            .map_err(|_| DomainError::InvalidSnooze("until must be an RFC 3339 timestamp".into()))?
            .with_timezone(&Utc);
        if until <= now {
            return Err(DomainError::InvalidSnooze(
                "until must be in the future".into(),
            ));
        }
        if until > now + Duration::days(i64::from(max_days)) {
            return Err(DomainError::InvalidSnooze(format!(
                "until must be at most {max_days} days ahead"
            )));
        }
        Ok(Self(until))
    }

    pub fn until(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Which part of the feed a list shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxStatus {
    /// Neither archived nor currently snoozed.
    #[default]
    Active,
    Archived,
    /// Everything not deleted, snoozed items included.
    All,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(label: &str, url: Option<&str>, event: Option<&str>) -> ActionInput {
        ActionInput {
            label: label.into(),
            url: url.map(Into::into),
            event: event.map(Into::into),
        }
    }

    #[test]
    fn tags_are_bounded_in_count_length_and_alphabet() {
        assert!(Tag::parse("team:core.v2_x-1").is_ok());
        assert!(Tag::parse("").is_err());
        assert!(Tag::parse("a b").is_err());
        assert!(Tag::parse("%").is_err());
        assert!(Tag::parse("x".repeat(MAX_TAG_LEN)).is_ok());
        assert!(Tag::parse("x".repeat(MAX_TAG_LEN + 1)).is_err());
        let many: Vec<String> = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
        assert_eq!(Tags::parse(many).unwrap_err().code(), "invalid_tag");
        let dup = Tags::parse(vec!["a".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(dup.iter().count(), 2);
    }

    #[test]
    fn an_action_has_exactly_one_of_url_and_event() {
        assert!(NotificationAction::parse(action("Open", Some("/x"), None)).is_ok());
        assert!(NotificationAction::parse(action("Go", None, Some("invite.accepted"))).is_ok());
        for bad in [
            action("Both", Some("/x"), Some("a.b")),
            action("Neither", None, None),
            action("", Some("/x"), None),
            action(&"l".repeat(MAX_LABEL_LEN + 1), Some("/x"), None),
            action("Script", Some("javascript:alert(1)"), None),
            action("Type", None, Some("a..b")),
            action("Type", None, Some("a b")),
        ] {
            assert_eq!(
                NotificationAction::parse(bad).unwrap_err().code(),
                "invalid_action"
            );
        }
        let three = vec![action("a", Some("/a"), None); MAX_ACTIONS + 1];
        assert!(Actions::parse(three).is_err());
    }

    #[test]
    fn actions_serialise_with_url_or_event_only() {
        let a = NotificationAction::parse(action("Go", None, Some("x.y"))).unwrap();
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"label": "Go", "event": "x.y"})
        );
    }

    #[test]
    fn a_snooze_is_in_the_future_and_within_the_limit() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let max = DEFAULT_MAX_SNOOZE_DAYS;
        assert!(Snooze::parse("2026-01-01T00:00:01Z", now, max).is_ok());
        assert!(Snooze::parse("2026-03-31T00:00:00Z", now, max).is_ok());
        for bad in [
            "2026-01-01T00:00:00Z",
            "2025-12-31T00:00:00Z",
            "2026-04-02T00:00:00Z",
            "tomorrow",
        ] {
            assert_eq!(
                Snooze::parse(bad, now, max).unwrap_err().code(),
                "invalid_snooze"
            );
        }
    }
}
