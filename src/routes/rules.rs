//! Rule management (admin).

use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::Admin;
use crate::packs::{parse_rule, rule_json};
use crate::persistence::rules;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/rules").post(create).get(list))
        .service(
            Endpoint::new("/rules/{id}")
                .get(get)
                .put(update)
                .delete(delete),
        );
}

/// A rule as `POST`/`PUT /rules` take it. The handlers read it with
/// [`parse_rule`], which packs share; this type describes it in the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct RuleInput {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// AMQP-style topic pattern: dot-separated words, `*` one word, `#` any.
    #[schema(min_length = 1, max_length = 255)]
    event_pattern: String,
    /// `in_app`, `email`, `push`, `sms`, `webhook`; at least one.
    #[schema(min_items = 1)]
    channels: Vec<String>,
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9_.-]+$")]
    template_code: String,
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:-]+$")]
    category: Option<String>,
    #[schema(value_type = Option<super::send::PriorityInput>)]
    priority: Option<Value>,
    /// Where the recipient's user id, email and phone are read from in the event.
    #[schema(value_type = Option<Object>)]
    recipient: Option<Value>,
    /// A template expression over the event; the rule fires when it is true.
    condition: Option<String>,
    enabled: Option<bool>,
    /// Ignored on create; on update the path's id wins.
    id: Option<String>,
}

fn parse_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    super::parse_uuid(raw, "invalid_rule_id", "rule ids are UUIDs")
}

/// Create a rule: `{name, event_pattern, channels, template_code, category?, priority?, recipient?, condition?, enabled?}`.
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", security(("api_key" = [])), request_body = RuleInput,
    responses((status = 201, body = Object), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: super::Body<Value>,
) -> Result<HttpResponse, ApiError> {
    let rule = parse_rule(&body, uuid::Uuid::now_v7())?;
    let saved = rules::create(&state.db, &rule).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Created().json(rule_json(&saved)))
}

/// List rules.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", security(("api_key" = [])), responses((status = 200, body = Object)))]
#[tracing::instrument(skip_all)]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = rules::list(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({"items": all.iter().map(rule_json).collect::<Vec<_>>()})))
}

/// Read a rule.
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = Object), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let rule = rules::get(&state.db, parse_id(&path)?)
        .await?
        .ok_or_else(|| ApiError::not_found("rule"))?;
    Ok(HttpResponse::Ok().json(rule_json(&rule)))
}

/// Replace a rule.
#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path)), security(("api_key" = [])),
    request_body = RuleInput, responses((status = 200, body = Object), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn update(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<Value>,
) -> Result<HttpResponse, ApiError> {
    let rule = parse_rule(&body, parse_id(&path)?)?;
    let saved = rules::update(&state.db, &rule).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Ok().json(rule_json(&saved)))
}

/// Delete a rule.
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    if !rules::delete(&state.db, parse_id(&path)?).await? {
        return Err(ApiError::not_found("rule"));
    }
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::NoContent().finish())
}
