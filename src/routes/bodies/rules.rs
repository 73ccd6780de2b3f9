//! A rule as `POST`/`PUT /rules` and packs take it.

use super::super::chat::DestinationInput;
use crate::domain::{DomainError, Rule};
use crate::packs::parse_rule;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Plain fields, so a new rule setting is one more field here (and in
/// [`parse_rule`], which validates them for the API and packs alike).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// AMQP-style topic pattern: dot-separated words, `*` one word, `#` any.
    #[schema(min_length = 1, max_length = 255)]
    pub event_pattern: String,
    /// `in_app`, `email`, `push`, `sms`, `webhook`, `web_push`, `slack`, `discord`, `teams`; at least one.
    #[schema(min_items = 1)]
    pub channels: Vec<String>,
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9_.-]+$")]
    pub template_code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:-]+$")]
    pub category: Option<String>,
    /// `low|normal|high|critical`, or 1-10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<super::super::send::PriorityInput>)]
    pub priority: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientBody>,
    /// A template expression over the event; the rule fires when it is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Ignored on create; on update the path's id wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The rule's own chat destinations by service (`slack`, `discord`,
    /// `teams`), which win over the user's. Answers show them redacted.
    /// `PUT` replaces them (absent: none).
    #[serde(default, skip_serializing)]
    pub chat: Option<BTreeMap<String, DestinationInput>>,
    /// Send each matching event's notification this long later (`90s`, `15m`, `2h`, `1d`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Fold matching events into one notification per (user, rule, key); see the README's "Digests".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<crate::domain::DigestInput>,
    /// At most `limit` notifications per user per `window`; see the README's "Throttles".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<crate::domain::ThrottleInput>,
    /// Later steps while the first notification stays unread:
    /// `[{"after": "10m", "channels": ["push"]}]`; see the README's "Escalation".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Vec<crate::domain::EscalationStepInput>>,
}

/// Where the recipient's user id, email and phone are read from in the event (dot paths).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientBody {
    /// Default `user_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Instead of a user: fan out to this topic's subscribers. A key, or a template over the
    /// event such as `venue.{{ venue_id }}`; excludes the three paths above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl RuleBody {
    /// The domain rule with `id` (a new one on create, the path's on update).
    pub fn to_rule(&self, id: uuid::Uuid) -> Result<Rule, DomainError> {
        let json = serde_json::to_value(self).map_err(|e| DomainError::InvalidField {
            field: "rule",
            reason: e.to_string(),
        })?;
        parse_rule(&json, id)
    }
}

/// A rule as the API answers it.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RuleView {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub name: String,
    pub event_pattern: String,
    pub channels: Vec<String>,
    pub template_code: String,
    pub category: String,
    pub priority: crate::domain::Priority,
    pub recipient: RecipientView,
    pub condition: Option<String>,
    pub enabled: bool,
    /// The rule's chat destinations by service, redacted.
    pub chat: BTreeMap<String, super::views::ChatDestinationView>,
    pub delay: Option<String>,
    pub digest: Option<crate::domain::DigestInput>,
    pub throttle: Option<crate::domain::ThrottleInput>,
    pub escalation: Option<Vec<crate::domain::EscalationStepInput>>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RecipientView {
    pub user_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Set on a topic rule, which then has none of the paths above.
    pub topic: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RuleList {
    pub items: Vec<RuleView>,
}
