//! Chat destinations (Slack, Discord, Teams): a user's own, and a service's
//! on a user's behalf, like devices. A webhook URL is a credential, so
//! answers show it redacted; it is never returned whole.

use super::endpoint::Endpoint;
use super::{path_user, ApiError, AppState};
use crate::auth::{Admin, AuthedUser};
use crate::channels::webhook::{UrlError, WebhookUrl};
use crate::domain::{Channel, ChatDestination, ChatTarget, UserId};
use crate::persistence::chat::{self, Owner, Stored};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/chat").get(my_list))
        .service(
            Endpoint::new("/chat/{service}")
                .put(my_put)
                .delete(my_delete),
        )
        .service(Endpoint::new("/users/{user_id}/chat").get(svc_list))
        .service(
            Endpoint::new("/users/{user_id}/chat/{service}")
                .put(svc_put)
                .delete(svc_delete),
        );
}

/// One of `webhook_url` (Slack, Discord, Teams) or `channel` (a Slack channel id, bot mode).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DestinationInput {
    pub webhook_url: Option<String>,
    pub channel: Option<String>,
}

/// A chat service from a path segment or a key.
pub(crate) fn service(raw: &str) -> Result<Channel, ApiError> {
    Channel::parse(raw)
        .ok()
        .filter(Channel::is_chat)
        .ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_chat_service",
                format!("unknown chat service '{raw}'; expected slack, discord or teams"),
            )
        })
}

/// Parses a destination, and refuses a webhook whose host is (or resolves
/// to) a private address unless those are allowed; sending checks it again.
pub(crate) async fn destination(
    state: &AppState,
    service: Channel,
    input: DestinationInput,
) -> Result<ChatDestination, ApiError> {
    let (kind, raw) = match (input.webhook_url, input.channel) {
        (Some(url), None) => (ChatTarget::Webhook, url),
        (None, Some(channel)) => (ChatTarget::Channel, channel),
        _ => {
            return Err(ApiError::unprocessable(
                "invalid_chat_destination",
                "send exactly one of webhook_url or channel",
            ))
        }
    };
    let parsed = ChatDestination::parse(service, kind, &raw, state.chat_allow_http)?;
    if let ChatDestination::Webhook(url) = &parsed {
        let refused = |e: UrlError| ApiError::unprocessable("url_not_allowed", e.to_string());
        WebhookUrl::parse(url.as_str())
            .map_err(refused)?
            .check_resolved(state.webhook_allow_private)
            .await
            .map_err(refused)?;
    }
    Ok(parsed)
}

pub(crate) fn view(s: &Stored) -> Value {
    json!({
        "service": s.service.as_str(),
        "kind": s.destination.kind().as_str(),
        "destination": s.destination.redacted(),
        "updated_at": s.updated_at,
    })
}

/// `{service: view}` for every destination of an owner.
pub(crate) async fn views(state: &AppState, owner: &Owner) -> Result<Value, ApiError> {
    let all = chat::list(&state.db, owner).await?;
    Ok(Value::Object(
        all.iter()
            .map(|s| (s.service.as_str().to_string(), view(s)))
            .collect::<Map<_, _>>(),
    ))
}

async fn list(state: &AppState, user: UserId) -> Result<HttpResponse, ApiError> {
    let all = chat::list(&state.db, &Owner::User(user)).await?;
    Ok(HttpResponse::Ok().json(json!({"items": all.iter().map(view).collect::<Vec<_>>()})))
}

async fn put(
    state: &AppState,
    user: UserId,
    raw_service: &str,
    input: DestinationInput,
) -> Result<HttpResponse, ApiError> {
    let service = service(raw_service)?;
    let dest = destination(state, service, input).await?;
    crate::persistence::users::create_if_missing(&state.db, &user, Default::default()).await?;
    let saved = chat::put(&state.db, &Owner::User(user), service, &dest).await?;
    Ok(HttpResponse::Ok().json(view(&saved)))
}

async fn remove(
    state: &AppState,
    user: UserId,
    raw_service: &str,
) -> Result<HttpResponse, ApiError> {
    let service = service(raw_service)?;
    if chat::delete(&state.db, &Owner::User(user), service).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("chat destination"))
    }
}

/// My chat destinations.
#[utoipa::path(get, path = "/api/v1/chat", tag = "chat", security(("user_token" = [])),
    responses((status = 200, body = super::bodies::views::ChatDestinationList)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_list(
    user: AuthedUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    list(&state, user.0).await
}

/// Set where my messages on a chat service go.
#[utoipa::path(put, path = "/api/v1/chat/{service}", tag = "chat", params(("service" = String, Path)),
    request_body = DestinationInput, security(("user_token" = [])),
    responses((status = 200, description = "the destination, redacted", body = super::bodies::views::ChatDestinationView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_put(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<DestinationInput>,
) -> Result<HttpResponse, ApiError> {
    put(&state, user.0, &path, body.into_inner()).await
}

/// Remove my destination on a chat service.
#[utoipa::path(delete, path = "/api/v1/chat/{service}", tag = "chat", params(("service" = String, Path)),
    security(("user_token" = [])), responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_delete(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    remove(&state, user.0, &path).await
}

/// A user's chat destinations.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/chat", tag = "chat", params(("user_id" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = super::bodies::views::ChatDestinationList)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn svc_list(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    list(&state, path_user(&path)?).await
}

/// Set where a user's messages on a chat service go.
#[utoipa::path(put, path = "/api/v1/users/{user_id}/chat/{service}", tag = "chat",
    params(("user_id" = String, Path), ("service" = String, Path)), request_body = DestinationInput,
    security(("api_key" = [])), responses((status = 200, description = "the destination, redacted", body = super::bodies::views::ChatDestinationView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn svc_put(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(super::Segment, super::Segment)>,
    body: super::Body<DestinationInput>,
) -> Result<HttpResponse, ApiError> {
    let (user, svc) = path.into_inner();
    put(&state, path_user(&user)?, &svc, body.into_inner()).await
}

/// Remove a user's destination on a chat service.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}/chat/{service}", tag = "chat",
    params(("user_id" = String, Path), ("service" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn svc_delete(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(super::Segment, super::Segment)>,
) -> Result<HttpResponse, ApiError> {
    let (user, svc) = path.into_inner();
    remove(&state, path_user(&user)?, &svc).await
}
