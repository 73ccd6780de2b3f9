//! Rule management (admin).

use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::Admin;
use crate::packs::{parse_rule, rule_json};
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
    /// `in_app`, `email`, `push`, `sms`, `webhook`, `slack`, `discord`, `teams`; at least one.
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
    /// The rule's own chat destinations, which win over the user's:
    /// `{"slack": {"webhook_url"} | {"channel"}, "discord": {"webhook_url"}, "teams": {"webhook_url"}}`.
    /// Answers show them redacted. `PUT` replaces them (absent: none).
    #[schema(value_type = Option<Object>)]
    chat: Option<Value>,
    /// Send each matching event's notification this long later (`90s`, `15m`, `2h`, `1d`).
    delay: Option<String>,
    /// Fold matching events into one notification per (user, rule, key); see the README's "Digests".
    digest: Option<crate::domain::DigestInput>,
    /// At most `limit` notifications per user per `window`; see the README's "Throttles".
    throttle: Option<crate::domain::ThrottleInput>,
    /// Later steps while the first notification stays unread: `[{"after": "10m", "channels": ["push"]}]`; see the README's "Escalation".
    escalation: Option<Vec<crate::domain::EscalationStepInput>>,
}

type ChatSection = Vec<(crate::domain::Channel, crate::domain::ChatDestination)>;

/// Takes the `chat` section out of a rule body and parses it; the rest is the rule.
async fn split_chat(state: &AppState, body: &Value) -> Result<(Value, ChatSection), ApiError> {
    let mut rest = body.clone();
    let section = rest.as_object_mut().and_then(|o| o.remove("chat"));
    let mut out = vec![];
    match section {
        None | Some(Value::Null) => {}
        Some(Value::Object(services)) => {
            for (name, input) in services {
                let service = super::chat::service(&name)?;
                let input: super::chat::DestinationInput =
                    serde_json::from_value(input).map_err(|e| {
                        ApiError::unprocessable(
                            "invalid_chat_destination",
                            format!("chat.{name}: {e}"),
                        )
                    })?;
                out.push((
                    service,
                    super::chat::destination(state, service, input).await?,
                ));
            }
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_chat_destination",
                "chat must be an object of services",
            ))
        }
    }
    Ok((rest, out))
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

/// Create a rule: `{name, event_pattern, channels, template_code, category?, priority?, recipient?, condition?, enabled?}`.
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", security(("api_key" = [])), request_body = RuleInput,
    responses((status = 201, body = Object), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: super::Body<Value>,
) -> Result<HttpResponse, ApiError> {
    let (body, section) = split_chat(&state, &body).await?;
    let rule = parse_rule(&body, uuid::Uuid::now_v7())?;
    let saved = rules::create(&state.db, &rule).await?;
    save_chat(&state, saved.id, &section).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Created().json(shown(&state, &saved).await?))
}

/// List rules.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", security(("api_key" = [])), responses((status = 200, body = Object)))]
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
    Ok(HttpResponse::Ok().json(shown(&state, &rule).await?))
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
    let (body, section) = split_chat(&state, &body).await?;
    let rule = parse_rule(&body, parse_id(&path)?)?;
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
