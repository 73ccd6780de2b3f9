//! The generic HMAC callback for in-house relays. Contract: header
//! `X-Herald-Timestamp` (Unix seconds) and `X-Herald-Signature:
//! sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`; the timestamp must be
//! within `callback_max_age_secs` and a signature is accepted once per node.

use super::{apply, header, Report};
use crate::channels::callbacks::{
    constant_time_eq, generic_signature, CallbackError, CALLBACK_STATUSES,
};
use crate::domain::DeliveryStatus;
use crate::routes::{ApiError, AppState};
use actix_web::{HttpRequest, HttpResponse};
use secrecy::ExposeSecret;
use serde_json::Value;

pub async fn callback(
    state: &AppState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let secret = state.callback_secret.as_ref().ok_or_else(|| {
        ApiError::not_found("generic callback (HERALD_CALLBACK_SECRET is not set)")
    })?;
    let (ts, sig) = (
        header(req, "x-herald-timestamp"),
        header(req, "x-herald-signature"),
    );
    if !constant_time_eq(&generic_signature(secret.expose_secret(), &ts, body), &sig) {
        return Err(CallbackError::InvalidSignature.into());
    }
    let guard = &state.callback_guard;
    let at = guard.signed_at(&ts)?;
    guard.claim_once(&sig, at)?;
    let outcome = match report(body) {
        Ok(r) => apply(state, r).await,
        Err(e) => Err(e),
    };
    if outcome.is_err() {
        // Nothing was recorded, so the relay's retry of this very request is not a replay.
        guard.replay.release(&sig);
    }
    outcome
}

fn report(body: &[u8]) -> Result<Report, ApiError> {
    let v: Value = serde_json::from_slice(body)
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
    Ok(Report {
        id: id.to_string(),
        channel: None,
        status,
        detail: v["detail"].as_str().map(str::to_string),
    })
}
