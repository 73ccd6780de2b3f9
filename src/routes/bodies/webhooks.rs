//! Webhook endpoints as `POST`/`PUT /webhooks` take them and the API shows them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `{url, event_patterns?, description?, enabled?}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// An `https` URL on a public address (unless private ones are allowed).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// Event type patterns (`booking.*`, `payment.#`); default `["#"]`, every event.
    pub event_patterns: Option<Vec<String>>,
    pub description: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct WebhookView {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub url: String,
    pub description: Option<String>,
    pub event_patterns: Vec<String>,
    pub enabled: bool,
    pub failure_count: i32,
    /// Why Herald turned it off after repeated failures.
    pub disabled_reason: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The `whsec_` signing secret: on create only.
    pub secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct WebhookList {
    pub items: Vec<WebhookView>,
}

/// The new secret, shown once.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RotatedSecret {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub secret: String,
}

/// The queued `webhook.test` delivery.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TestQueued {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub delivery_id: Option<uuid::Uuid>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct WebhookLog {
    pub items: Vec<super::views::DeliveryView>,
}
