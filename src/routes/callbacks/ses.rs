//! AWS SES through SNS: the gate admits the message (topic, window,
//! certificate, signature); then subscriptions are confirmed and
//! Delivery/Bounce/Complaint/Open/Click applied.

use crate::channels::sns::{self, SnsKind};
use crate::domain::Channel;
use crate::persistence::deliveries::{self, CallbackResult};
use crate::routes::{ApiError, AppState};
use actix_web::HttpResponse;
use serde_json::{json, Value};

pub async fn callback(state: &AppState, body: &[u8]) -> Result<HttpResponse, ApiError> {
    let gate = &state.callback_guard.sns;
    let msg: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?;
    let admitted = gate.admit(&msg).await?;
    let topic = admitted.topic.as_str().to_string();
    match admitted.kind {
        SnsKind::SubscriptionConfirmation { subscribe } => {
            gate.confirm(&admitted.topic, &subscribe).await?;
            Ok(HttpResponse::Ok().json(json!({"confirmed": true, "topic": topic})))
        }
        SnsKind::Notification { message } => {
            let (id, status, detail) = sns::ses_status(&message).ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_body",
                    "not an SES notification Herald understands",
                )
            })?;
            if deliveries::apply_callback(&state.db, &id, Some(Channel::Email), status, detail)
                .await?
                == CallbackResult::NotFound
            {
                return Err(ApiError::not_found("delivery with that Message-ID"));
            }
            Ok(HttpResponse::Ok().json(json!({"provider_message_id": id, "status": status})))
        }
        SnsKind::UnsubscribeConfirmation => {
            Ok(HttpResponse::Ok()
                .json(json!({"ignored": "UnsubscribeConfirmation", "topic": topic})))
        }
    }
}
