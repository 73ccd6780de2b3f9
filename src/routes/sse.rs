//! `GET /api/v1/sse`: the realtime feed as Server-Sent Events, for clients
//! whose WebSocket cannot connect. Same token, same caps, same frames; the
//! token and caps are checked before the stream starts, so refusals are JSON.

use super::{ApiError, AppState};
use crate::auth::{AuthError, Authenticator};
use crate::realtime::SseSession;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::net::{IpAddr, Ipv6Addr};

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SseParams {
    /// A user JWT (`EventSource` cannot set headers); `Authorization: Bearer` also works.
    pub token: Option<String>,
    /// Resume: replay every notification with a larger seq, then go live.
    /// A `Last-Event-ID` header, which a browser sends on its own reconnects, wins over it.
    pub since: Option<String>,
}

fn parse_seq(raw: &str, code: &'static str, what: &str) -> Result<Option<i64>, ApiError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request(code, format!("{what} must be a non-negative integer seq"))
        })
}

/// The resume point: the browser's `Last-Event-ID` (newer, sent on its own
/// reconnects), else `?since=`.
fn resume_point(req: &HttpRequest, since: Option<&str>) -> Result<Option<i64>, ApiError> {
    if let Some(value) = req.headers().get("last-event-id") {
        let text = value.to_str().map_err(|_| {
            ApiError::bad_request("invalid_last_event_id", "Last-Event-ID is not text")
        })?;
        if let Some(seq) = parse_seq(text, "invalid_last_event_id", "Last-Event-ID")? {
            return Ok(Some(seq));
        }
    }
    since.map_or(Ok(None), |s| parse_seq(s, "invalid_since", "since"))
}

/// Open the realtime feed as `text/event-stream`. Each frame is one event:
/// `event:` is the frame type, `data:` the JSON frame, and notification
/// frames (and hello) carry `id: <seq>`. A comment heartbeat every 15 s.
#[utoipa::path(get, path = "/api/v1/sse", tag = "realtime", params(SseParams,
        ("Last-Event-ID" = Option<String>, Header, description = "Resume point; the browser sends it on reconnect")),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream"),
        (status = 400, body = super::ErrorBody), (status = 401, body = super::ErrorBody),
        (status = 429, description = "`too_many_sessions` for this user or `too_many_connections` from this address", body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn stream(
    req: HttpRequest,
    params: web::Query<SseParams>,
    state: web::Data<AppState>,
    auth: web::Data<Authenticator>,
) -> Result<HttpResponse, ApiError> {
    let token = params
        .token
        .clone()
        .or_else(|| crate::auth::bearer_token(&req))
        .ok_or(AuthError::Missing)?;
    let user = auth.user(&token)?;
    let since = resume_point(&req, params.since.as_deref())?;
    // The socket's own address, as for the WebSocket: a forwarded header is the client's to forge.
    let ip = req
        .peer_addr()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip());
    let slot = state
        .sessions
        .limits
        .acquire(&user, ip)
        .inspect_err(|e| state.stats.metrics.connection_refused(e))?;
    let body = SseSession::open(user, state.sessions.clone(), since, slot);
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        // Tells nginx-style proxies not to buffer the stream.
        .insert_header(("x-accel-buffering", HeaderValue::from_static("no")))
        .streaming(body))
}
