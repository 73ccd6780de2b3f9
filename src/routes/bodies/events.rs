//! Events over REST, their audit, dead letters and pack import.

use super::rules::RuleBody;
use super::templates::TemplateBody;
use super::views::DeliveryView;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Flat JSON (`event_id`, `event_type` and fields at the top level) or the
/// `StandardMessage` envelope. Any other field is part of the event. The
/// handler reads the raw bytes, so that a malformed event is kept as a dead letter.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct EventBody {
    /// The idempotency key (also `id` or `message_id`); default a SHA-256 of type and body.
    event_id: Option<String>,
    id: Option<String>,
    message_id: Option<String>,
    /// Dot-separated words matched by rule patterns (also `type`).
    event_type: Option<String>,
    r#type: Option<String>,
    /// Envelope payload (also `payload`).
    #[schema(value_type = Option<Object>)]
    data: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    payload: Option<serde_json::Value>,
    timestamp: Option<String>,
    source: Option<String>,
    correlation_id: Option<String>,
    /// The recipient, unless the rule's recipient mapping reads it elsewhere.
    user_id: Option<String>,
}

/// `processed`, `duplicate` or `no_match` (then parked as a dead letter, with the reason).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct EventAccepted {
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub status: String,
    pub notifications: Option<u64>,
    pub deliveries: Option<u64>,
    pub reason: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub dead_letter_id: Option<uuid::Uuid>,
}

/// What an event produced, or, for one never processed, why it was dead-lettered.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct EventAudit {
    pub event_id: String,
    pub event_type: Option<String>,
    pub source: Option<String>,
    /// The event's status, or `dead_lettered`/`replayed`.
    pub status: String,
    /// Matched rules and per-channel outcomes, or `{reason}`.
    #[schema(value_type = Option<Object>)]
    pub outcome: Option<serde_json::Value>,
    pub dead_letter: Option<DeadLetterView>,
    pub deliveries: Vec<DeliveryView>,
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DeadLetterView {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub event_id: Option<String>,
    /// `rest`, `amqp:{queue}`, `redis:{channel}`, `action`.
    pub source: String,
    pub reason: String,
    /// The original body, as text.
    pub payload: String,
    /// Where it came from (`queue`, `routing_key`, `channel`); null when unreadable.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// `open` or `replayed`.
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub replayed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DeadLetterList {
    pub items: Vec<DeadLetterView>,
}

/// A pack: templates and rules, loaded idempotently in one transaction.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// The pack's name and description, for people; not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub templates: Vec<TemplateBody>,
    #[serde(default)]
    pub rules: Vec<RuleBody>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ImportSummary {
    pub templates: TemplatesImported,
    pub rules: RulesImported,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TemplatesImported {
    pub saved: u64,
    pub unchanged: u64,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RulesImported {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}
