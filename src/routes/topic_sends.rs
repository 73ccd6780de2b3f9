//! `POST /send {"topic": …}`: a send recorded as a durable fan-out (answered
//! 202 at once) and its progress.

use super::send::SendRequest;
use super::topics::{existing, parse_key};
use super::{parse_uuid, ApiError, AppState};
use crate::auth::Admin;
use crate::domain::{TopicKey, UserId};
use crate::persistence::topic_fanouts::{self, Fanout};
use crate::producer::Content;
use crate::topics::TopicMessage;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

/// A topic send and how far its fan-out has got.
#[derive(Serialize, ToSchema)]
pub struct FanoutView {
    #[schema(value_type = String, format = Uuid)]
    pub fanout_id: uuid::Uuid,
    pub topic: String,
    pub request_id: Option<String>,
    /// True when `request_id` had been seen: the original fan-out is returned.
    pub duplicate: bool,
    /// `running`, `done`, or `failed` (its template could not be rendered).
    pub status: &'static str,
    /// Subscribers handled so far.
    pub processed: i64,
    /// Of those, the ones sent something; the rest had it all turned off.
    pub notified: i64,
    pub suppressed: i64,
    /// Batches committed (one transaction each).
    pub batches: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl FanoutView {
    fn new(f: Fanout, duplicate: bool) -> Self {
        Self {
            fanout_id: f.id,
            topic: f.topic.as_str().to_string(),
            request_id: f.request_id,
            duplicate,
            status: f.status.as_str(),
            processed: f.processed,
            notified: f.notified,
            suppressed: f.suppressed,
            batches: f.batches,
            created_at: f.created_at,
            finished_at: f.finished_at,
        }
    }
}

/// Records the fan-out (once per `(topic, request_id)`) and wakes the runner.
pub(super) async fn send_to_topic(
    state: &AppState,
    topic: TopicKey,
    req: SendRequest,
) -> Result<HttpResponse, ApiError> {
    // The content is checked as a direct send's is, which needs a recipient:
    // the key stands in (its characters are a subset of a user id's) and
    // every subscriber replaces it.
    let stand_in = UserId::parse(topic.as_str()).map_err(ApiError::internal)?;
    let (intent, extras) = req.into_intent(stand_in)?;
    if let Content::Template { code, .. } = &intent.content {
        state.pipeline.catalog().check_before_event().await;
        if !state.pipeline.templates().exists(code) {
            return Err(ApiError::unprocessable(
                "template_not_found",
                format!("template '{code}' does not exist"),
            ));
        }
    }
    existing(state, &topic).await?;
    let request_id = intent.request_id.clone();
    let message = TopicMessage::from_intent(intent, extras).to_text()?;
    let (fanout, duplicate) =
        topic_fanouts::create(&state.db, &topic, request_id.as_deref(), message).await?;
    if !duplicate {
        state.fanout_wake.ring();
    }
    tracing::info!(topic = %topic, fanout = %fanout.id, duplicate, "topic send recorded");
    Ok(HttpResponse::Accepted().json(FanoutView::new(fanout, duplicate)))
}

/// A topic send's progress.
#[utoipa::path(get, path = "/api/v1/topics/{key}/sends/{id}", tag = "topics",
    params(("key" = String, Path), ("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = FanoutView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn progress(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<(super::Segment, super::Segment)>,
) -> Result<HttpResponse, ApiError> {
    let (key, id) = path.into_inner();
    let key = parse_key(&key)?;
    let id = parse_uuid(&id, "invalid_id", "the send id must be a UUID")?;
    let fanout = topic_fanouts::get(&state.db, &key, id)
        .await?
        .ok_or_else(|| ApiError::not_found("topic send"))?;
    Ok(HttpResponse::Ok().json(FanoutView::new(fanout, false)))
}
