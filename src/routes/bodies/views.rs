//! Response bodies of the delivery, chat, Web Push and callback routes, as
//! the handlers write them.

use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A delivery on one channel, with its rendered content.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DeliveryView {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub channel: String,
    pub user_id: Option<String>,
    /// `pending`, `sending`, `sent`, `delivered`, `opened`, `clicked`, `bounced`, `failed`, `dead`, `suppressed`.
    pub status: String,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub notification_id: Option<uuid::Uuid>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub rule_id: Option<uuid::Uuid>,
    pub template_code: Option<String>,
    pub template_version: Option<i32>,
    /// What was rendered for the channel (subject, text, payload…).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
    pub attempts: i32,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub provider_message_id: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// With the status APIs and the webhook log; not in the event audit.
    pub attempts_history: Option<Vec<AttemptView>>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct AttemptView {
    pub attempt: i32,
    pub outcome: String,
    pub error: Option<String>,
    pub provider_message_id: Option<String>,
    pub latency_ms: i64,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct NotificationDeliveries {
    #[schema(value_type = String, format = Uuid)]
    pub notification_id: uuid::Uuid,
    pub items: Vec<DeliveryView>,
}

/// Everything one `/send` produced.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RequestDeliveries {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub notification_id: Option<uuid::Uuid>,
    pub notification: Option<crate::domain::NotificationView>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The send's outcome per channel (`accepted`, `queued`, `skipped`, …).
    pub channels: BTreeMap<String, String>,
    pub items: Vec<DeliveryView>,
}

/// A chat destination, redacted.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ChatDestinationView {
    /// `slack`, `discord` or `teams`.
    pub service: String,
    /// `webhook` or `channel`.
    pub kind: String,
    pub destination: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ChatDestinationList {
    pub items: Vec<ChatDestinationView>,
}

/// The VAPID public key: base64url uncompressed P-256 point, the `applicationServerKey`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct PublicKey {
    pub public_key: String,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ClickedItem {
    #[schema(value_type = String, format = Uuid)]
    pub delivery_id: uuid::Uuid,
    /// The delivery's status afterwards.
    pub status: String,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct ClickedList {
    pub items: Vec<ClickedItem>,
}

/// A provider callback's answer. Twilio and generic: `{provider_message_id,
/// status, applied}`; SendGrid: `{events, updated}`; SES: `{provider_message_id,
/// status}`, `{confirmed, topic}` or `{ignored, topic}`.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct CallbackAnswer {
    pub provider_message_id: Option<String>,
    /// The delivery's status afterwards.
    pub status: Option<String>,
    /// False when the report did not move the status forward.
    pub applied: Option<bool>,
    pub events: Option<u64>,
    pub updated: Option<u64>,
    pub confirmed: Option<bool>,
    pub topic: Option<String>,
    pub ignored: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct DeviceList {
    pub items: Vec<super::super::devices::DeviceView>,
}

/// Liveness.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct Alive {
    /// Always `ok`.
    pub status: String,
}
