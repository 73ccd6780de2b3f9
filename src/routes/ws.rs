//! `GET /api/v1/ws`: the token and the connection caps are checked before
//! the upgrade, so a bad token gets a 401 and a full cap a 429, both as
//! JSON, and never an open socket.

use super::{ApiError, AppState};
use crate::auth::{AuthError, Authenticator};
use crate::realtime::{LimitError, WsSession};
use actix::{Actor, AsyncContext};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use std::net::{IpAddr, Ipv6Addr};

impl From<LimitError> for ApiError {
    fn from(e: LimitError) -> Self {
        let code = match e {
            LimitError::TooManySessions(_) => "too_many_sessions",
            LimitError::TooManyConnections(_) => "too_many_connections",
        };
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            code,
            format!("{e}; close one before opening another"),
        )
    }
}

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
    responses((status = 101, description = "Switching protocols"), (status = 401, body = super::ErrorBody),
        (status = 429, description = "`too_many_sessions` for this user or `too_many_connections` from this address", body = super::ErrorBody)))]
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
    // The socket's own address: a forwarded header is the client's to forge.
    // Without one (not over TCP) every such connection shares one bucket.
    let ip = req
        .peer_addr()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip());
    let slot = state
        .sessions
        .limits
        .acquire(&user, ip)
        .inspect_err(|e| state.stats.metrics.connection_refused(e))?;
    let (response, session, stream) = actix_ws::handle(&req, body)
        .map_err(|e| ApiError::bad_request("websocket_upgrade_required", e.to_string()))?;
    let stream = stream
        .max_frame_size(state.max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(state.max_frame_bytes);
    let deps = state.sessions.clone();
    WsSession::create(move |ctx| {
        ctx.add_stream(stream);
        WsSession::new(user, session, deps, since, slot)
    });
    Ok(response)
}
