//! Web Push: the VAPID public key browsers subscribe with, and the click
//! report the service worker (served by `sdk`) sends.

use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::{Admin, AuthedUser};
use crate::domain::{Channel, DeliveryStatus};
use crate::persistence::deliveries::{apply_callback, CallbackResult};
use crate::persistence::web_push::{self, Clicked};
use actix_web::{web, Either, HttpResponse};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/web-push/public-key").get(public_key))
        .service(Endpoint::new("/web-push/clicked").post(clicked));
}

/// Herald's VAPID public key (base64url uncompressed P-256 point), the `applicationServerKey`.
#[utoipa::path(get, path = "/api/v1/web-push/public-key", tag = "devices",
    security(("user_token" = []), ("api_key" = [])),
    responses((status = 200, body = super::bodies::views::PublicKey), (status = 401, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn public_key(
    _: Either<AuthedUser, Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(json!({"public_key": state.web_push.public_key})))
}

/// Which push was clicked: its `delivery_id` (always in the payload) or its `notification_id`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClickInput {
    pub delivery_id: Option<String>,
    pub notification_id: Option<String>,
}

impl TryFrom<ClickInput> for Clicked {
    type Error = ApiError;
    fn try_from(c: ClickInput) -> Result<Self, ApiError> {
        let id = |raw: &str| super::parse_uuid(raw, "invalid_id", "the id must be a UUID");
        match (c.delivery_id, c.notification_id) {
            (Some(d), _) => Ok(Clicked::Delivery(id(&d)?)),
            (None, Some(n)) => Ok(Clicked::Notification(id(&n)?)),
            (None, None) => Err(ApiError::unprocessable(
                "invalid_click",
                "delivery_id or notification_id is required",
            )),
        }
    }
}

/// The user clicked a Web Push notification: its delivery moves to `clicked`.
#[utoipa::path(post, path = "/api/v1/web-push/clicked", tag = "devices", request_body = ClickInput,
    security(("user_token" = [])),
    responses((status = 200, body = super::bodies::views::ClickedList), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn clicked(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<ClickInput>,
) -> Result<HttpResponse, ApiError> {
    let target = Clicked::try_from(body.into_inner())?;
    let rows = web_push::clicked(&state.db, &user.0, target).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found("web push delivery"));
    }
    let mut items = vec![];
    for row in rows {
        // A delivery not yet sent has nothing to confirm; its status says so.
        let status = match &row.provider_message_id {
            Some(id) => {
                match apply_callback(
                    &state.db,
                    id,
                    Some(Channel::WebPush),
                    DeliveryStatus::Clicked,
                    Some("clicked in the browser".into()),
                )
                .await?
                {
                    CallbackResult::Applied(s) | CallbackResult::Ignored(s) => s.to_string(),
                    CallbackResult::NotFound => row.status.clone(),
                }
            }
            None => row.status.clone(),
        };
        items.push(json!({"delivery_id": row.id, "status": status}));
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}
