//! What planning decided for one channel of one notification. The `/send`
//! answer, the event audit and the idempotency guard all show this value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a channel produced nothing, or what it produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ChannelOutcome {
    /// In-app: stored and pushed to the user's open sessions.
    Accepted,
    /// In the outbox; `until` when quiet hours hold it back.
    Queued {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<DateTime<Utc>>,
    },
    /// The user's preferences turn this channel or category off.
    Suppressed,
    /// Nothing to send to: no email address or phone number.
    Skipped { missing: Contact },
    /// The per-user push limit was reached.
    Throttled { recent: u64, limit: u64 },
    /// `/send` cannot reach webhooks: endpoints subscribe to events.
    Unavailable,
    /// A rule's webhook part: rendered once and sent to every matching endpoint.
    ToEndpoints,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contact {
    Email,
    Phone,
    /// A Slack, Discord or Teams destination, on the user or on the rule.
    ChatDestination,
}

impl ChannelOutcome {
    /// The one-word form of the `/send` answer.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Queued { .. } => "queued",
            Self::Suppressed => "suppressed",
            Self::Skipped { .. } => "skipped",
            Self::Throttled { .. } => "throttled",
            Self::Unavailable => "unavailable",
            Self::ToEndpoints => "to_endpoints",
        }
    }

    /// Whether anything was stored or queued for this channel.
    pub fn produced(&self) -> bool {
        matches!(self, Self::Accepted | Self::Queued { .. })
    }

    /// The sentence the event audit records.
    pub fn describe(&self) -> String {
        match self {
            Self::Accepted => "created".into(),
            Self::Queued { until: None } => "pending".into(),
            Self::Queued { until: Some(_) } => "pending (quiet hours)".into(),
            Self::Suppressed => "suppressed".into(),
            Self::Skipped {
                missing: Contact::Email,
            } => "skipped: the user has no email".into(),
            Self::Skipped {
                missing: Contact::Phone,
            } => "skipped: the user has no phone number".into(),
            Self::Skipped {
                missing: Contact::ChatDestination,
            } => "skipped: no destination for this chat service on the user or the rule".into(),
            Self::Throttled { recent, limit } => {
                format!("throttled: {recent} push notifications in the last hour (limit {limit})")
            }
            Self::Unavailable => "unavailable: webhooks go to endpoints".into(),
            Self::ToEndpoints => "to matching endpoints".into(),
        }
    }
}
