//! Scheduled sends: `/send` with `send_at` or `delay` stores one; these
//! routes list a user's pending ones and cancel them.

use super::endpoint::Endpoint;
use super::send::SendRequest;
use super::{ApiError, AppState};
use crate::auth::Sender;
use crate::domain::{parse_request_id, UserId};
use crate::producer::{Content, InAppExtras, Intent};
use crate::schedule::{ScheduleError, ScheduleStatus, Scheduled, SendTiming, Target};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/scheduled").get(list))
        .service(Endpoint::new("/scheduled/by-id/{id}").delete(cancel_by_id))
        .service(Endpoint::new("/scheduled/{request_id}").delete(cancel));
}

/// When a `/send` asks for: read before the request becomes an intent.
pub(crate) fn timing(state: &AppState, req: &SendRequest) -> Result<SendTiming, ApiError> {
    Ok(state
        .schedule
        .timing(req.send_at.as_deref(), req.delay.as_deref())?)
}

/// Stores a send that is due later and answers 202 with the row.
pub(crate) async fn accept(
    state: &AppState,
    intent: Intent,
    extras: InAppExtras,
    due: DateTime<Utc>,
) -> Result<HttpResponse, ApiError> {
    // Refused now, not at its time: a template that does not exist never will.
    if let Content::Template { code, .. } = &intent.content {
        state.pipeline.catalog().check_before_event().await;
        if !state.pipeline.templates().exists(code) {
            return Err(crate::producer::ProducerError::TemplateNotFound(code.clone()).into());
        }
    }
    let (row, duplicate) = state.schedule.schedule(&intent, &extras, due).await?;
    let mut body = ScheduledView::of(&row);
    body.duplicate = Some(duplicate);
    if row.status == ScheduleStatus::Pending {
        body.status = "scheduled";
    }
    Ok(HttpResponse::Accepted().json(body))
}

/// A scheduled send as the API answers it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ScheduledView {
    #[schema(value_type = String, format = Uuid)]
    id: uuid::Uuid,
    user_id: String,
    request_id: String,
    /// When it goes (or went) out.
    send_at: DateTime<Utc>,
    /// `scheduled` in the answer to `/send`; otherwise `pending`, `sending`, `sent`, `cancelled` or `failed`.
    status: &'static str,
    #[schema(value_type = Option<String>, format = Uuid)]
    notification_id: Option<uuid::Uuid>,
    created_at: DateTime<Utc>,
    /// Only in the answer to `/send`: whether this request id was scheduled before.
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate: Option<bool>,
}

impl ScheduledView {
    fn of(s: &Scheduled) -> Self {
        Self {
            id: s.id,
            user_id: s.user.as_str().to_string(),
            request_id: s.request_id.clone(),
            send_at: s.due_at,
            status: s.status.as_str(),
            notification_id: s.notification_id,
            created_at: s.created_at,
            duplicate: None,
        }
    }
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ScheduledList {
    items: Vec<ScheduledView>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub struct ForUser {
    pub user_id: String,
}

/// A user's pending scheduled sends, soonest first.
#[utoipa::path(get, path = "/api/v1/scheduled", tag = "send", params(ForUser), security(("api_key" = [])),
    responses((status = 200, body = ScheduledList), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn list(
    _: Sender,
    state: web::Data<AppState>,
    q: web::Query<ForUser>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId::parse(q.user_id.clone())?;
    let items = state
        .schedule
        .pending(&user)
        .await?
        .iter()
        .map(ScheduledView::of)
        .collect();
    Ok(HttpResponse::Ok().json(ScheduledList { items }))
}

/// Cancel a pending scheduled send by its request id.
#[utoipa::path(delete, path = "/api/v1/scheduled/{request_id}", tag = "send",
    params(("request_id" = String, Path), ForUser), security(("api_key" = [])),
    responses((status = 200, body = ScheduledView), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn cancel(
    _: Sender,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    q: web::Query<ForUser>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId::parse(q.user_id.clone())?;
    let request_id = parse_request_id(path.to_string())?;
    let row = state
        .schedule
        .cancel(Target::Request { user, request_id })
        .await?;
    Ok(HttpResponse::Ok().json(ScheduledView::of(&row)))
}

/// Cancel a pending scheduled send by the id `/send` answered with.
#[utoipa::path(delete, path = "/api/v1/scheduled/by-id/{id}", tag = "send", params(("id" = String, Path)),
    security(("api_key" = [])),
    responses((status = 200, body = ScheduledView), (status = 404, body = super::ErrorBody), (status = 409, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn cancel_by_id(
    _: Sender,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = super::parse_uuid(&path, "invalid_id", "the id must be a UUID")?;
    let row = state.schedule.cancel(Target::Id(id)).await?;
    Ok(HttpResponse::Ok().json(ScheduledView::of(&row)))
}

impl From<ScheduleError> for ApiError {
    fn from(e: ScheduleError) -> Self {
        match e {
            ScheduleError::Timing(t) => ApiError::unprocessable("invalid_schedule", t.to_string()),
            ScheduleError::NotFound => ApiError::not_found("scheduled send"),
            ScheduleError::TooLate(status) => ApiError::new(
                StatusCode::CONFLICT,
                match status {
                    ScheduleStatus::Sending => "scheduled_send_in_progress",
                    ScheduleStatus::Failed => "scheduled_send_failed",
                    _ => "scheduled_send_already_sent",
                },
                e.to_string(),
            ),
            ScheduleError::Store(s) => s.into(),
        }
    }
}
