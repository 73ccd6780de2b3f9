//! Where a user is connected: `GET /api/v1/users/{user_id}/presence` (admin).

use super::endpoint::Endpoint;
use super::{path_user, ApiError, AppState};
use crate::auth::Admin;
use crate::bus::{BusError, PresenceView};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/users/{user_id}/presence").get(get));
}

impl From<BusError> for ApiError {
    fn from(e: BusError) -> Self {
        tracing::warn!(error = %e, "presence lookup failed");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "presence_unavailable",
            "presence is unavailable right now",
        )
    }
}

/// Whether a user has open WebSocket sessions, how many, on which nodes, and when one was last seen.
/// On the Redis bus a node that stopped heartbeating drops out within `HERALD_PRESENCE_TTL_SECS`.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/presence", tag = "users",
    params(("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = PresenceView), (status = 422, body = super::ErrorBody),
        (status = 503, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let user = path_user(&path)?;
    let view = state.bus.presence.lookup(&user).await?;
    Ok(HttpResponse::Ok().json(view))
}
