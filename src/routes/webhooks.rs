//! Webhook endpoints: configuration, test sends, secret rotation, delivery log.

use super::bodies::webhooks::{
    RotatedSecret, TestQueued, WebhookBody, WebhookList, WebhookLog, WebhookView,
};
use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::Admin;
use crate::channels::webhook::{new_secret, UrlError, WebhookUrl};
use crate::domain::EventPattern;
use crate::persistence::webhooks;
use crate::persistence::writer::Unit;
use crate::producer::plan::webhook_deliveries;
use crate::producer::Committed;
use actix_web::{web, HttpResponse};
use entity::webhook_endpoints as w;
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/webhooks").post(create).get(list))
        .service(Endpoint::new("/webhooks/{id}/test").post(test))
        .service(Endpoint::new("/webhooks/{id}/rotate-secret").post(rotate))
        .service(Endpoint::new("/webhooks/{id}/deliveries").get(log))
        .service(
            Endpoint::new("/webhooks/{id}")
                .get(get)
                .put(update)
                .delete(delete),
        );
}

fn view(m: &w::Model, with_secret: bool) -> Value {
    let mut v = json!({
        "id": m.id, "url": m.url, "description": m.description,
        "event_patterns": webhooks::patterns(m).unwrap_or_default(), "enabled": m.enabled,
        "failure_count": m.failure_count, "disabled_reason": m.disabled_reason,
        "created_at": m.created_at, "updated_at": m.updated_at,
    });
    if with_secret {
        v["secret"] = json!(m.secret);
    }
    v
}

fn parse_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    super::parse_uuid(raw, "invalid_id", "webhook ids are UUIDs")
}

fn url_error(e: UrlError) -> ApiError {
    let code = match e {
        UrlError::Invalid(_) | UrlError::NoHost => "invalid_url",
        UrlError::Scheme | UrlError::Unresolvable { .. } | UrlError::Private { .. } => {
            "url_not_allowed"
        }
    };
    ApiError::unprocessable(code, e.to_string())
}

async fn parse_input(
    state: &AppState,
    body: &WebhookBody,
) -> Result<webhooks::EndpointInput, ApiError> {
    let url = WebhookUrl::parse(&body.url).map_err(url_error)?;
    url.check_resolved(state.webhook_allow_private)
        .await
        .map_err(url_error)?;
    let patterns = body
        .event_patterns
        .clone()
        .unwrap_or_else(|| vec!["#".into()]);
    for p in &patterns {
        EventPattern::parse(p)?;
    }
    Ok(webhooks::EndpointInput {
        url: url.as_str().to_string(),
        description: body.description.clone(),
        patterns,
        enabled: body.enabled.unwrap_or(true),
    })
}

/// Create an endpoint: `{url, event_patterns?, description?, enabled?}`. The `whsec_` secret is shown once.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", security(("api_key" = [])), request_body = WebhookBody,
    responses((status = 201, body = WebhookView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: super::Body<WebhookBody>,
) -> Result<HttpResponse, ApiError> {
    let input = parse_input(&state, &body).await?;
    let row = webhooks::create(&state.db, input, new_secret()).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Created().json(view(&row, true)))
}

/// List endpoints.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks", security(("api_key" = [])), responses((status = 200, body = WebhookList)))]
#[tracing::instrument(skip_all)]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = webhooks::list(&state.db).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"items": rows.iter().map(|r| view(r, false)).collect::<Vec<_>>()})))
}

/// Read an endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = WebhookView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let row = webhooks::get(&state.db, parse_id(&path)?)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    Ok(HttpResponse::Ok().json(view(&row, false)))
}

/// Replace an endpoint's settings. Enabling it again clears an automatic disable.
#[utoipa::path(put, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), security(("api_key" = [])),
    request_body = WebhookBody, responses((status = 200, body = WebhookView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn update(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<WebhookBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let input = parse_input(&state, &body).await?;
    let row = webhooks::update(&state.db, id, input).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Ok().json(view(&row, false)))
}

/// Delete an endpoint.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    if !webhooks::delete(&state.db, parse_id(&path)?).await? {
        return Err(ApiError::not_found("webhook"));
    }
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Replace the endpoint's secret; the new one is shown once.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = RotatedSecret), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn rotate(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let secret = new_secret();
    if !webhooks::rotate(&state.db, id, secret.clone()).await? {
        return Err(ApiError::not_found("webhook"));
    }
    Ok(HttpResponse::Ok().json(json!({"id": id, "secret": secret})))
}

/// Queue a `webhook.test` event for the endpoint.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 202, body = TestQueued), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn test(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    webhooks::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let unit = Unit {
        deliveries: webhook_deliveries(
            &[id],
            None,
            "webhook.test",
            &json!({"message": "Test event from Herald"}),
            chrono::Utc::now(),
        ),
        ..Unit::default()
    };
    let delivery = match state.pipeline.producer().commit(unit).await? {
        Committed::Written { deliveries, .. } => deliveries.first().copied(),
        Committed::Duplicate => None,
    };
    Ok(HttpResponse::Accepted().json(json!({"delivery_id": delivery})))
}

/// The endpoint's delivery log: attempts, outcome, latency, response excerpt.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = WebhookLog)))]
#[tracing::instrument(skip_all)]
pub async fn log(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let rows = webhooks::deliveries(&state.db, id, 100).await?;
    let items = super::deliveries::with_attempts(&state, rows).await?;
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}
