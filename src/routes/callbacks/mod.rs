//! `POST /api/v1/callbacks/{provider}`: delivery status from providers.
//! The signature (and, where the provider signs one, the timestamp) is checked
//! before anything else; a refused callback records nothing.

mod errors;
mod generic;
mod sendgrid;
mod ses;

use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::channels::callbacks::{constant_time_eq, twilio_signature, twilio_status};
use crate::domain::{Channel, DeliveryStatus};
use crate::persistence::deliveries::{self, CallbackResult};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::json;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/callbacks/{provider}").post(callback));
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_signature",
        "the callback signature does not verify",
    )
}

/// A header as text; absent or not visible ASCII reads as empty, which no signature matches.
fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
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

/// One provider report to apply: which delivery, on which channel, to what status.
struct Report {
    id: String,
    channel: Option<Channel>,
    status: DeliveryStatus,
    detail: Option<String>,
}

/// Receive a provider's delivery status. Supported: `twilio` (X-Twilio-Signature),
/// `sendgrid` (ECDSA over the timestamp and body), `ses` (SNS-signed, allow-listed topics) and
/// `generic` (`X-Herald-Timestamp: <unix seconds>` and
/// `X-Herald-Signature: sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">` with HERALD_CALLBACK_SECRET).
#[utoipa::path(post, path = "/api/v1/callbacks/{provider}", tag = "deliveries", params(("provider" = String, Path)),
    request_body(content = String, description = "the provider's form or JSON body"),
    responses((status = 200, body = super::bodies::views::CallbackAnswer), (status = 401, body = super::ErrorBody), (status = 403, body = super::ErrorBody),
        (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(provider = %path))]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let result = receive(&state, &req, path.as_str(), &body).await;
    let metrics = &state.stats.metrics;
    metrics.callback(provider_label(&path), result_label(&result));
    result
}

/// The metrics label of a provider: the supported names, or `unknown` (the path is the caller's).
fn provider_label(path: &str) -> &'static str {
    match path {
        "twilio" => "twilio",
        "generic" => "generic",
        "ses" => "ses",
        "sendgrid" => "sendgrid",
        _ => "unknown",
    }
}

/// What became of a callback, by the answer it got.
fn result_label(result: &Result<HttpResponse, ApiError>) -> &'static str {
    use actix_web::ResponseError;
    let status = match result {
        Ok(res) => res.status(),
        Err(e) => e.status_code(),
    };
    match status.as_u16() {
        200..=299 => "accepted",
        401 | 403 => "refused",
        404 => "not_found",
        409 => "conflict",
        400..=499 => "invalid",
        _ => "error",
    }
}

async fn receive(
    state: &AppState,
    req: &HttpRequest,
    path: &str,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let report = match path {
        "twilio" => twilio(state, req, body)?,
        "generic" => return generic::callback(state, req, body).await,
        "ses" => return ses::callback(state, body).await,
        "sendgrid" => return sendgrid::callback(state, req, body).await,
        other => {
            return Err(ApiError::not_found(&format!(
                "callback provider '{other}' (supported: twilio, sendgrid, ses, generic)"
            )));
        }
    };
    apply(state, report).await
}

fn twilio(state: &AppState, req: &HttpRequest, body: &[u8]) -> Result<Report, ApiError> {
    let token = state
        .twilio_auth_token
        .as_ref()
        .ok_or_else(|| ApiError::not_found("twilio callback (SMS is not configured)"))?;
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let expected = twilio_signature(token.expose_secret(), &signed_url(state, req), &params);
    if !constant_time_eq(&expected, &header(req, "x-twilio-signature")) {
        return Err(unauthorized());
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let id = get("MessageSid")
        .ok_or_else(|| ApiError::unprocessable("invalid_body", "MessageSid is required"))?;
    let raw = get("MessageStatus").unwrap_or_default();
    let status = twilio_status(&raw).ok_or_else(|| {
        ApiError::unprocessable("invalid_body", format!("unhandled MessageStatus '{raw}'"))
    })?;
    Ok(Report {
        id,
        channel: Some(Channel::Sms),
        status,
        detail: get("ErrorCode").map(|c| format!("Twilio error {c}")),
    })
}

/// Applies one report, forward only: a late or repeated report leaves the status as it is.
async fn apply(state: &AppState, r: Report) -> Result<HttpResponse, ApiError> {
    let result =
        deliveries::apply_callback(&state.db, &r.id, r.channel, r.status, r.detail).await?;
    // The delivery's status after the report: a late `sent` leaves `delivered` as it was.
    let now = match result {
        CallbackResult::Applied(s) | CallbackResult::Ignored(s) => s.as_str().to_string(),
        CallbackResult::NotFound => {
            return Err(ApiError::not_found(
                "delivery with that provider message id",
            ))
        }
    };
    Ok(HttpResponse::Ok().json(
        json!({"provider_message_id": r.id, "status": now, "applied": matches!(result, CallbackResult::Applied(_))}),
    ))
}
