//! Rule management (admin).

use super::bodies::rules::{RuleBody, RuleList, RuleView};
use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::Admin;
use crate::packs::rule_json;
use crate::persistence::chat::{self, Owner};
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

type ChatSection = Vec<(crate::domain::Channel, crate::domain::ChatDestination)>;

/// Parses the body's `chat` section: the rule's own destinations by service.
async fn parse_chat(state: &AppState, body: &RuleBody) -> Result<ChatSection, ApiError> {
    let mut out = vec![];
    for (name, input) in body.chat.iter().flatten() {
        let service = super::chat::service(name)?;
        out.push((
            service,
            super::chat::destination(state, service, input.clone()).await?,
        ));
    }
    Ok(out)
}

/// Replaces the rule's chat destinations with `section`.
async fn save_chat(
    state: &AppState,
    rule: uuid::Uuid,
    section: &ChatSection,
) -> Result<(), ApiError> {
    let owner = Owner::Rule(rule);
    chat::delete_all(&state.db, &owner).await?;
    for (service, dest) in section {
        chat::put(&state.db, &owner, *service, dest).await?;
    }
    Ok(())
}

/// The rule as the API shows it, with its chat destinations redacted.
async fn shown(state: &AppState, rule: &crate::domain::Rule) -> Result<Value, ApiError> {
    let mut v = rule_json(rule);
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "chat".into(),
            super::chat::views(state, &Owner::Rule(rule.id)).await?,
        );
    }
    Ok(v)
}

fn parse_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    super::parse_uuid(raw, "invalid_rule_id", "rule ids are UUIDs")
}

/// Create a rule: `{name, event_pattern, channels, template_code, category?, priority?, recipient?, condition?, enabled?, chat?}`.
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", security(("api_key" = [])), request_body = RuleBody,
    responses((status = 201, body = RuleView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: super::Body<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    let section = parse_chat(&state, &body).await?;
    let rule = body.to_rule(uuid::Uuid::now_v7())?;
    let saved = rules::create(&state.db, &rule).await?;
    save_chat(&state, saved.id, &section).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Created().json(shown(&state, &saved).await?))
}

/// List rules.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", security(("api_key" = [])), responses((status = 200, body = RuleList)))]
#[tracing::instrument(skip_all)]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let all = rules::list(&state.db).await?;
    let mut items = Vec::with_capacity(all.len());
    for rule in &all {
        items.push(shown(&state, rule).await?);
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Read a rule.
#[utoipa::path(get, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = RuleView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let rule = rules::get(&state.db, parse_id(&path)?)
        .await?
        .ok_or_else(|| ApiError::not_found("rule"))?;
    Ok(HttpResponse::Ok().json(shown(&state, &rule).await?))
}

/// Replace a rule.
#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules", params(("id" = String, Path)), security(("api_key" = [])),
    request_body = RuleBody, responses((status = 200, body = RuleView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn update(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<RuleBody>,
) -> Result<HttpResponse, ApiError> {
    let section = parse_chat(&state, &body).await?;
    let rule = body.to_rule(parse_id(&path)?)?;
    let saved = rules::update(&state.db, &rule).await?;
    save_chat(&state, saved.id, &section).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Ok().json(shown(&state, &saved).await?))
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
    let id = parse_id(&path)?;
    if !rules::delete(&state.db, id).await? {
        return Err(ApiError::not_found("rule"));
    }
    chat::delete_all(&state.db, &Owner::Rule(id)).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::NoContent().finish())
}
