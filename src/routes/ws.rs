//! `GET /api/v1/ws`: the token is checked before the upgrade, so a bad one
//! gets a 401 JSON answer and never an open socket.

use super::{ApiError, AppState};
use crate::auth::{AuthError, Authenticator};
use crate::realtime::WsSession;
use actix::{Actor, AsyncContext};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsParams {
    /// A user JWT (browsers cannot set headers on an upgrade); `Authorization: Bearer` also works.
    pub token: Option<String>,
    /// Resume: replay every notification with a larger seq, then go live.
    pub since: Option<String>,
}

/// Open the realtime feed. Frames are documented in the README.
#[utoipa::path(get, path = "/api/v1/ws", tag = "realtime", params(WsParams),
    responses((status = 101, description = "Switching protocols"), (status = 401, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn connect(
    req: HttpRequest,
    body: web::Payload,
    params: web::Query<WsParams>,
    state: web::Data<AppState>,
    auth: web::Data<Authenticator>,
) -> Result<HttpResponse, ApiError> {
    let token = params
        .token
        .clone()
        .or_else(|| crate::auth::bearer_token(&req))
        .ok_or(AuthError::Missing)?;
    let user = auth.user(&token)?;
    let since = match params.since.as_deref() {
        None | Some("") => None,
        Some(s) => Some(s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::bad_request("invalid_since", "since must be a non-negative integer seq")
        })?),
    };
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::bad_request("websocket_upgrade_required", e.to_string()))?;
    let stream = stream
        .max_frame_size(state.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(state.max_frame_bytes);
    let deps = state.sessions.clone();
    WsSession::create(move |ctx| {
        ctx.add_stream(stream);
        WsSession::new(user, session, deps, since)
    });
    Ok(response)
}
