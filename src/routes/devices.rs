//! Push devices, for a user's own token and for services on a user's behalf.

use super::endpoint::Endpoint;
use super::{path_user, ApiError, AppState};
use crate::auth::{Admin, AuthedUser};
use crate::channels::webhook::WebhookUrl;
use crate::domain::{DeviceToken, Platform, PushProvider, UserId, WebPushSubscription};
use crate::persistence::devices::{self, NewDevice};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/devices").get(my_list).post(my_register))
        .service(Endpoint::new("/devices/{token}").delete(my_delete))
        .service(
            Endpoint::new("/users/{user_id}/devices")
                .get(svc_list)
                .post(svc_register),
        )
        .service(Endpoint::new("/users/{user_id}/devices/{token}").delete(svc_delete));
}

/// `{token, platform, provider}`, the older `{fcm_token, platform, device_id}` form,
/// or `{platform: "web", subscription}` for Web Push.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    pub token: Option<String>,
    pub fcm_token: Option<String>,
    /// `ios`, `android` or `web`.
    pub platform: String,
    /// `apns`, `fcm` or `web_push`; defaults to fcm for `fcm_token`, web_push with a `subscription`, else by platform.
    pub provider: Option<String>,
    pub device_id: Option<String>,
    /// A browser's `PushSubscription.toJSON()`, for provider `web_push` (platform `web`, no token).
    pub subscription: Option<SubscriptionInput>,
}

/// `{endpoint, keys: {p256dh, auth}}` as the Push API gives it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    pub endpoint: String,
    pub keys: SubscriptionKeys,
    /// Sent by browsers, unused: a push service answers 404/410 once it passes.
    #[serde(default, rename = "expirationTime")]
    #[schema(value_type = Option<f64>)]
    pub expiration_time: Option<serde_json::Value>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionKeys {
    pub p256dh: String,
    pub auth: String,
}

/// A Web Push subscription as a device: its endpoint is the token. The
/// endpoint comes from the browser, so it must resolve to a public address.
async fn web_push_device(
    state: &AppState,
    d: DeviceInput,
    sub: SubscriptionInput,
) -> Result<NewDevice, ApiError> {
    let platform = Platform::parse(&d.platform)?;
    let provider = d.provider.as_deref().map(PushProvider::parse).transpose()?;
    let refused = |m: &str| ApiError::unprocessable("invalid_subscription", m);
    if platform != Platform::Web || provider.is_some_and(|p| p != PushProvider::WebPush) {
        return Err(refused(
            "a subscription is for platform web, provider web_push",
        ));
    }
    if d.token.is_some() || d.fcm_token.is_some() {
        return Err(refused("send a subscription or a token, not both"));
    }
    if let Some(id) = &d.device_id {
        crate::domain::bounded_text("device_id", id.clone(), 256)?;
    }
    let allow_private = state.web_push.allow_private;
    let parsed = WebPushSubscription::parse(
        &sub.endpoint,
        &sub.keys.p256dh,
        &sub.keys.auth,
        allow_private,
    )?;
    WebhookUrl::parse(parsed.endpoint())
        .map_err(|e| refused(&e.to_string()))?
        .check_resolved(allow_private)
        .await
        .map_err(|e| refused(&e.to_string()))?;
    Ok(NewDevice {
        token: DeviceToken::parse(parsed.endpoint())?,
        platform,
        provider: PushProvider::WebPush,
        device_id: d.device_id,
        web_push: Some(parsed),
    })
}

impl TryFrom<DeviceInput> for NewDevice {
    type Error = ApiError;
    fn try_from(d: DeviceInput) -> Result<Self, ApiError> {
        let platform = Platform::parse(&d.platform)?;
        let (raw, implied) = match (d.token, d.fcm_token) {
            (Some(t), None) => (t, None),
            (None, Some(t)) => (t, Some(PushProvider::Fcm)),
            (Some(_), Some(_)) => {
                return Err(ApiError::unprocessable(
                    "invalid_device_token",
                    "send token or fcm_token, not both",
                ))
            }
            (None, None) => {
                return Err(ApiError::unprocessable(
                    "invalid_device_token",
                    "token (or fcm_token) is required",
                ))
            }
        };
        let provider = match d.provider {
            Some(p) => PushProvider::parse(&p)?,
            None => implied.unwrap_or_else(|| platform.default_provider()),
        };
        if provider == PushProvider::WebPush {
            return Err(ApiError::unprocessable(
                "invalid_subscription",
                "a web_push device is registered with its subscription, not a token",
            ));
        }
        if let Some(id) = &d.device_id {
            crate::domain::bounded_text("device_id", id.clone(), 256)?;
        }
        Ok(NewDevice {
            token: DeviceToken::parse(raw)?,
            platform,
            provider,
            device_id: d.device_id,
            web_push: None,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct DeviceView {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    pub token: String,
    pub platform: String,
    pub provider: String,
    pub device_id: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::devices::Model> for DeviceView {
    fn from(m: entity::devices::Model) -> Self {
        Self {
            id: m.id,
            token: m.token,
            platform: m.platform,
            provider: m.provider,
            device_id: m.device_id,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

async fn register(
    state: &AppState,
    user: &UserId,
    mut input: DeviceInput,
) -> Result<HttpResponse, ApiError> {
    let dev = match input.subscription.take() {
        Some(sub) => web_push_device(state, input, sub).await?,
        None => NewDevice::try_from(input)?,
    };
    let row = devices::register(&state.db, user, dev).await?;
    Ok(HttpResponse::Created().json(DeviceView::from(row)))
}

async fn list(state: &AppState, user: &UserId) -> Result<HttpResponse, ApiError> {
    let rows = devices::list(&state.db, user).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "items": rows.into_iter().map(DeviceView::from).collect::<Vec<_>>()
    })))
}

async fn remove(state: &AppState, user: &UserId, token: &str) -> Result<HttpResponse, ApiError> {
    if devices::delete(&state.db, user, token).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("device"))
    }
}

/// My devices.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("user_token" = [])),
    responses((status = 200, body = super::bodies::views::DeviceList)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_list(
    user: AuthedUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &user.0).await
}

/// Register one of my devices.
#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", request_body = DeviceInput, security(("user_token" = [])),
    responses((status = 201, body = DeviceView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_register(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    register(&state, &user.0, body.into_inner()).await
}

/// Remove one of my devices.
#[utoipa::path(delete, path = "/api/v1/devices/{token}", tag = "devices", params(("token" = String, Path)),
    security(("user_token" = [])), responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_delete(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    remove(&state, &user.0, &path).await
}

/// A user's devices.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/devices", tag = "devices", params(("user_id" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = super::bodies::views::DeviceList)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn svc_list(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    list(&state, &path_user(&path)?).await
}

/// Register a device for a user.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/devices", tag = "devices", params(("user_id" = String, Path)),
    request_body = DeviceInput, security(("api_key" = [])), responses((status = 201, body = DeviceView)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn svc_register(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<DeviceInput>,
) -> Result<HttpResponse, ApiError> {
    register(&state, &path_user(&path)?, body.into_inner()).await
}

/// Remove a user's device.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/devices/{token}", tag = "devices",
    params(("user_id" = String, Path), ("token" = String, Path)), security(("api_key" = [])), responses((status = 204)))]
#[tracing::instrument(skip_all)]
pub async fn svc_delete(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(super::Segment, super::Segment)>,
) -> Result<HttpResponse, ApiError> {
    let (user, token) = path.into_inner();
    remove(&state, &path_user(&user)?, &token).await
}
