//! SendGrid's Event Webhook: ECDSA over `timestamp + body`; the timestamp
//! (`X-Twilio-Email-Event-Webhook-Timestamp`) must be inside the window.

use super::header;
use crate::channels::callbacks::{sendgrid_status, sendgrid_verify, CallbackError};
use crate::domain::Channel;
use crate::persistence::deliveries::{self, CallbackResult};
use crate::routes::{ApiError, AppState};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub async fn callback(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let key = state.sendgrid_public_key.as_ref().ok_or_else(|| {
        ApiError::not_found("sendgrid callback (HERALD_SENDGRID_WEBHOOK_PUBLIC_KEY is not set)")
    })?;
    let (sig, ts) = (
        header(req, "x-twilio-email-event-webhook-signature"),
        header(req, "x-twilio-email-event-webhook-timestamp"),
    );
    if !sendgrid_verify(key, &sig, &ts, body) {
        return Err(CallbackError::InvalidSignature.into());
    }
    state.callback_guard.signed_at(&ts)?;
    let events: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?;
    let mut updated = 0;
    for ev in &events {
        // `smtp-id` is the Message-ID Herald set, which is also its provider id.
        let (Some(id), Some(status)) = (
            ev["smtp-id"].as_str(),
            ev["event"].as_str().and_then(sendgrid_status),
        ) else {
            continue;
        };
        let detail = ev["reason"].as_str().map(str::to_string);
        if deliveries::apply_callback(&state.db, id, Some(Channel::Email), status, detail).await?
            != CallbackResult::NotFound
        {
            updated += 1;
        }
    }
    Ok(HttpResponse::Ok().json(json!({"events": events.len(), "updated": updated})))
}
