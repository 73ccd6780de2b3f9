//! `POST /api/v1/callbacks/{provider}`: delivery status from providers.
//! The signature is checked before anything else; a bad one is a 401 that records nothing.

use super::{ApiError, AppState};
use crate::channels::callbacks::{
    constant_time_eq, generic_signature, sendgrid_status, sendgrid_verify, twilio_signature,
    twilio_status, CALLBACK_STATUSES,
};
use crate::domain::{Channel, DeliveryStatus};
use crate::persistence::deliveries::{self, CallbackResult};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/callbacks/{provider}", web::post().to(callback));
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
        "the callback signature does not verify",
    )
}

/// The URL the provider signed: `HERALD_PUBLIC_URL` when set (behind a proxy), else what the request says.
fn signed_url(state: &AppState, req: &HttpRequest) -> String {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    match &state.public_url {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            format!("{}://{}{path}", info.scheme(), info.host())
        }
    }
}

/// Receive a provider's delivery status. Supported: `twilio` (X-Twilio-Signature) and
/// `generic` (`X-Herald-Signature: sha256=<hex HMAC-SHA256 of the body>` with HERALD_CALLBACK_SECRET).
#[utoipa::path(post, path = "/api/v1/callbacks/{provider}", tag = "deliveries", params(("provider" = String, Path)),
    request_body(content = String, description = "the provider's form or JSON body"),
    responses((status = 200, body = Object), (status = 401, body = super::ErrorBody), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(provider = %path))]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (id, channel, status, detail) = match path.as_str() {
        "twilio" => {
            let token = state
                .twilio_auth_token
                .as_ref()
                .ok_or_else(|| ApiError::not_found("twilio callback (SMS is not configured)"))?;
            let params: Vec<(String, String)> =
                url::form_urlencoded::parse(&body).into_owned().collect();
            let expected =
                twilio_signature(token.expose_secret(), &signed_url(&state, &req), &params);
            if !constant_time_eq(&expected, &header("x-twilio-signature")) {
                return Err(unauthorized());
            }
            let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let sid = get("MessageSid")
                .ok_or_else(|| ApiError::unprocessable("invalid_body", "MessageSid is required"))?;
            let raw = get("MessageStatus").unwrap_or_default();
            let status = twilio_status(&raw).ok_or_else(|| {
                ApiError::unprocessable("invalid_body", format!("unhandled MessageStatus '{raw}'"))
            })?;
            (
                sid,
                Some(Channel::Sms),
                status,
                get("ErrorCode").map(|c| format!("Twilio error {c}")),
            )
        }
        "generic" => {
            let secret = state.callback_secret.as_ref().ok_or_else(|| {
                ApiError::not_found("generic callback (HERALD_CALLBACK_SECRET is not set)")
            })?;
            if !constant_time_eq(
                &generic_signature(secret.expose_secret(), &body),
                &header("x-herald-signature"),
            ) {
                return Err(unauthorized());
            }
            let v: Value = serde_json::from_slice(&body)
                .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?;
            let id = v["provider_message_id"].as_str().ok_or_else(|| {
                ApiError::unprocessable("invalid_body", "provider_message_id is required")
            })?;
            let status = v["status"]
                .as_str()
                .and_then(|s| DeliveryStatus::parse(s).ok())
                .filter(|s| CALLBACK_STATUSES.contains(s))
                .ok_or_else(|| {
                    let names: Vec<_> = CALLBACK_STATUSES.iter().map(|s| s.as_str()).collect();
                    ApiError::unprocessable(
                        "invalid_body",
                        format!("status must be one of {}", names.join(", ")),
                    )
                })?;
            (
                id.to_string(),
                None,
                status,
                v["detail"].as_str().map(str::to_string),
            )
        }
        "ses" => return ses(&state, &body).await,
        "sendgrid" => {
            let key = state.sendgrid_public_key.as_ref().ok_or_else(|| {
                ApiError::not_found(
                    "sendgrid callback (HERALD_SENDGRID_WEBHOOK_PUBLIC_KEY is not set)",
                )
            })?;
            let (sig, ts) = (
                header("x-twilio-email-event-webhook-signature"),
                header("x-twilio-email-event-webhook-timestamp"),
            );
            if !sendgrid_verify(key, &sig, &ts, &body) {
                return Err(unauthorized());
            }
            let events: Vec<Value> = serde_json::from_slice(&body)
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
                if deliveries::apply_callback(&state.db, id, Some(Channel::Email), status, detail)
                    .await?
                    != CallbackResult::NotFound
                {
                    updated += 1;
                }
            }
            return Ok(HttpResponse::Ok().json(json!({"events": events.len(), "updated": updated})));
        }
        other => {
            return Err(ApiError::not_found(&format!(
                "callback provider '{other}' (supported: twilio, sendgrid, ses, generic)"
            )));
        }
    };
    // Forward only: a late or repeated report leaves the status as it is.
    let result = deliveries::apply_callback(&state.db, &id, channel, status, detail).await?;
    if result == CallbackResult::NotFound {
        return Err(ApiError::not_found(
            "delivery with that provider message id",
        ));
    }
    // The delivery's status after the report: a late `sent` leaves `delivered` as it was.
    let now = match result {
        CallbackResult::Applied(s) | CallbackResult::Ignored(s) => s.as_str().to_string(),
        CallbackResult::NotFound => status.as_str().to_string(),
    };
    Ok(HttpResponse::Ok().json(
        json!({"provider_message_id": id, "status": now, "applied": matches!(result, CallbackResult::Applied(_))}),
    ))
}

/// AWS SES through SNS: verify against the allow-listed signing certificate,
/// confirm subscriptions, apply Delivery/Bounce/Complaint/Open/Click.
async fn ses(state: &AppState, body: &[u8]) -> Result<HttpResponse, ApiError> {
    use crate::channels::sns;
    if state.sns_cert_prefixes.is_empty() {
        return Err(ApiError::not_found(
            "ses callback (HERALD_SNS_CERT_URL_PREFIXES is not set)",
        ));
    }
    let msg: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid_json", e.to_string()))?;
    let cert_url = msg["SigningCertURL"].as_str().unwrap_or_default();
    if !sns::allowed(cert_url, &state.sns_cert_prefixes) {
        return Err(unauthorized());
    }
    let cert = state
        .http
        .get(cert_url)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "certificate_unavailable",
                e.to_string(),
            )
        })?
        .text()
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::BAD_GATEWAY,
                "certificate_unavailable",
                e.to_string(),
            )
        })?;
    if !sns::verify(&msg, &cert) {
        return Err(unauthorized());
    }
    match msg["Type"].as_str() {
        Some("SubscriptionConfirmation") => {
            let url = msg["SubscribeURL"].as_str().unwrap_or_default();
            if !sns::allowed(url, &state.sns_cert_prefixes) {
                return Err(ApiError::unprocessable(
                    "invalid_body",
                    "SubscribeURL is not allow-listed",
                ));
            }
            state.http.get(url).send().await.map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "confirmation_failed",
                    e.to_string(),
                )
            })?;
            Ok(HttpResponse::Ok().json(json!({"confirmed": true, "topic": msg["TopicArn"]})))
        }
        Some("Notification") => {
            let (id, status, detail) = sns::ses_status(msg["Message"].as_str().unwrap_or_default())
                .ok_or_else(|| {
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
        _ => Ok(HttpResponse::Ok().json(json!({"ignored": msg["Type"]}))),
    }
}
