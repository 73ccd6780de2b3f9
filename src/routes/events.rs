//! Events over REST, their audit trail, dead letters and pack import.

use super::bodies::events::{
    DeadLetterList, EventAccepted, EventAudit, EventBody, ImportBody, ImportSummary,
};
use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::{Admin, Sender};
use crate::persistence::events;
use crate::pipeline::PipelineError;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/events").post(publish))
        .service(Endpoint::new("/events/{event_id}").get(audit))
        .service(Endpoint::new("/dead-letters").get(dead_letters))
        .service(Endpoint::new("/dead-letters/{id}/replay").post(replay))
        .service(Endpoint::new("/import").post(import));
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Malformed(crate::domain::EventError::NulCharacter(field)) => {
                crate::domain::DomainError::NulByte { field }.into()
            }
            PipelineError::Malformed(m) => {
                ApiError::unprocessable("malformed_event", m.to_string())
            }
            PipelineError::Rejected(m) => ApiError::unprocessable("event_rejected", m),
            PipelineError::Unrouted(_) => {
                ApiError::unprocessable("no_matching_rule", e.to_string())
            }
            PipelineError::Transient(s) => s.into(),
        }
    }
}

impl From<crate::packs::PackError> for ApiError {
    fn from(e: crate::packs::PackError) -> Self {
        match e {
            crate::packs::PackError::Invalid(d) => d.into(),
            crate::packs::PackError::Template {
                source: crate::templates::TemplateError::QuotedJsonValue { .. },
                ..
            } => ApiError::unprocessable("template_json_quoted_value", e.to_string()),
            crate::packs::PackError::Template { .. } => {
                ApiError::unprocessable("template_syntax_error", e.to_string())
            }
            crate::packs::PackError::Store(s) => s.into(),
        }
    }
}

/// A delivery as the audit and status APIs show it.
pub(crate) fn delivery_json(m: &entity::deliveries::Model) -> Result<Value, ApiError> {
    let content: Value = serde_json::from_str(&m.content)
        .map_err(|e| ApiError::internal(format!("delivery {} content: {e}", m.id)))?;
    Ok(json!({
        "id": m.id, "channel": m.channel, "user_id": m.user_id, "status": m.status,
        "notification_id": m.notification_id, "rule_id": m.rule_id,
        "template_code": m.template_code, "template_version": m.template_version,
        "content": content, "attempts": m.attempts,
        "next_attempt_at": m.next_attempt_at, "last_error": m.last_error,
        "provider_message_id": m.provider_message_id, "created_at": m.created_at,
    }))
}

/// A dead letter as the API shows it; unreadable metadata shows as null.
fn dead_letter_json(m: &entity::dead_letters::Model) -> Value {
    json!({
        "id": m.id, "event_id": m.event_id, "source": m.source, "reason": m.reason, "payload": m.payload,
        "metadata": serde_json::from_str::<Value>(&m.metadata).unwrap_or(Value::Null),
        "status": m.status, "created_at": m.created_at, "replayed_at": m.replayed_at,
    })
}

/// Publish an event over REST (flat JSON or a `StandardMessage` envelope), or a
/// CloudEvent: structured (`application/cloudevents+json`), binary (`ce-*`
/// headers, the body is the data) or a batch (`application/cloudevents-batch+json`).
/// A W3C `traceparent` header makes the processing part of the caller's trace.
/// A malformed or unprocessable event is answered 422 and also kept as a dead letter.
#[utoipa::path(post, path = "/api/v1/events", tag = "events", security(("api_key" = [])), request_body = EventBody,
    responses((status = 202, body = EventAccepted), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn publish(
    _: Sender,
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // A raw NUL is never valid JSON, and parking it as a dead letter would fail
    // on PostgreSQL, so it is refused before anything is stored.
    if body.contains(&0) {
        return Err(crate::domain::DomainError::NulByte {
            field: "the body".into(),
        }
        .into());
    }
    if super::cloudevents::is_batch(&req) {
        return super::cloudevents::publish_batch(&state, &body).await;
    }
    // Flat, envelope or CloudEvents (structured or binary mode), with the caller's trace.
    let inbound = super::cloudevents::inbound(&req, &body);
    let body = inbound.replayable_body();
    match state.pipeline.ingest_inbound(&inbound).await {
        Ok(outcome) => Ok(HttpResponse::Accepted().json(outcome)),
        // Accepted and parked: it is replayable once a rule for it exists.
        Err(e @ PipelineError::Unrouted(_)) => {
            let id = state
                .pipeline
                .dead_letter("rest", &e.to_string(), &body, json!({}))
                .await?;
            let event_id = inbound.parse().ok().map(|e| e.id);
            Ok(HttpResponse::Accepted().json(json!({"event_id": event_id, "status": "no_match", "reason": e.to_string(), "dead_letter_id": id})))
        }
        Err(e) if !e.is_transient() => {
            let id = state
                .pipeline
                .dead_letter("rest", &e.to_string(), &body, json!({}))
                .await?;
            tracing::info!(dead_letter = %id, "REST event refused");
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// What an event produced: matched rules, notifications and deliveries, or why nothing matched.
#[utoipa::path(get, path = "/api/v1/events/{event_id}", tag = "events", params(("event_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = EventAudit), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn audit(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let Some(ev) = events::find(&state.db, &path).await? else {
        // Not processed: it may be parked as a dead letter, with the reason.
        let dl = events::dead_letter_for_event(&state.db, &path)
            .await?
            .ok_or_else(|| ApiError::not_found("event"))?;
        return Ok(HttpResponse::Ok().json(json!({
            "event_id": path.as_str(), "status": if dl.status == "open" { "dead_lettered" } else { "replayed" },
            "outcome": {"reason": dl.reason}, "dead_letter": dead_letter_json(&dl), "deliveries": [],
        })));
    };
    let deliveries = events::deliveries_for_event(&state.db, &ev.event_id).await?;
    let deliveries: Vec<Value> = deliveries
        .iter()
        .map(delivery_json)
        .collect::<Result<_, _>>()?;
    Ok(HttpResponse::Ok().json(json!({
        "event_id": ev.event_id, "event_type": ev.event_type, "source": ev.source, "status": ev.status,
        "outcome": serde_json::from_str::<Value>(&ev.outcome).unwrap_or(Value::Null),
        "deliveries": deliveries, "created_at": ev.created_at, "trace_id": ev.trace_id,
    })))
}

#[derive(serde::Deserialize, utoipa::ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterStatus {
    Open,
    Replayed,
}

impl DeadLetterStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Replayed => "replayed",
        }
    }
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterParams {
    #[param(inline)]
    pub status: Option<DeadLetterStatus>,
    /// 1 to 1000, default 100; values outside are clamped.
    #[param(minimum = 0)]
    pub limit: Option<u64>,
}

/// Dead letters, newest first.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "events", params(DeadLetterParams), security(("api_key" = [])),
    responses((status = 200, body = DeadLetterList)))]
#[tracing::instrument(skip_all)]
pub async fn dead_letters(
    _: Admin,
    state: web::Data<AppState>,
    q: web::Query<DeadLetterParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let rows =
        events::dead_letters(&state.db, q.status.map(DeadLetterStatus::as_str), limit).await?;
    Ok(HttpResponse::Ok()
        .json(json!({"items": rows.iter().map(dead_letter_json).collect::<Vec<_>>()})))
}

/// Re-run a dead letter after fixing a template or rule.
#[utoipa::path(post, path = "/api/v1/dead-letters/{id}/replay", tag = "events", params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = EventAccepted), (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn replay(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = super::parse_uuid(&path, "invalid_id", "dead letter ids are UUIDs")?;
    let dl = events::dead_letter(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("dead letter"))?;
    let meta: Value = serde_json::from_str(&dl.metadata).unwrap_or(Value::Null);
    let fallback = meta.get("routing_key").and_then(Value::as_str);
    let outcome = state
        .pipeline
        .ingest(dl.payload.as_bytes(), fallback, &dl.source)
        .await?;
    events::mark_replayed(&state.db, id).await?;
    Ok(HttpResponse::Ok().json(outcome))
}

/// Load a pack of templates and rules, idempotently.
#[utoipa::path(post, path = "/api/v1/import", tag = "templates", security(("api_key" = [])), request_body = ImportBody,
    responses((status = 200, body = ImportSummary), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn import(
    _: Admin,
    state: web::Data<AppState>,
    body: super::Body<ImportBody>,
) -> Result<HttpResponse, ApiError> {
    // Packs carry no chat destinations (they hold no secrets); say so rather than drop them.
    if body.rules.iter().any(|r| r.chat.is_some()) {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "a pack's rules cannot carry chat destinations; set them with PUT /rules/{id}",
        ));
    }
    let summary = crate::packs::import(&state.db, &super::bodies::encoded(&*body)?).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Ok().json(summary))
}
