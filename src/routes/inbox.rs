//! The inbox endpoints of the user's own feed (JWT): seen, archive, snooze,
//! category tabs and actions. Each change goes through `Feed`, which commits
//! and then publishes the frame to every session of the user.

use super::feed::{parse_id, parse_ids, Changed, IdsBody};
use super::{ApiError, AppState, Endpoint, Segment};
use crate::auth::AuthedUser;
use crate::domain::Snooze;
use crate::feed::ActionTaken;
use crate::persistence::inbox::{self, Transition};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/notifications/categories").get(categories))
        .service(Endpoint::new("/notifications/mark-seen").post(mark_seen))
        .service(Endpoint::new("/notifications/mark-all-seen").post(mark_all_seen))
        .service(Endpoint::new("/notifications/archive").post(archive_many))
        .service(Endpoint::new("/notifications/{id}/archive").post(archive_one))
        .service(Endpoint::new("/notifications/{id}/unarchive").post(unarchive_one))
        .service(Endpoint::new("/notifications/{id}/snooze").post(snooze))
        .service(Endpoint::new("/notifications/{id}/unsnooze").post(unsnooze))
        .service(Endpoint::new("/notifications/{id}/actions/{index}").post(take_action));
}

#[derive(Serialize, ToSchema)]
pub struct SeenCount {
    /// The ids that were mine (absent for mark-all-seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    pub ids: Option<Vec<Uuid>>,
    pub unseen_count: u64,
}

/// Mark notifications seen (listed, not opened). Reading implies seeing; seeing does not imply reading.
#[utoipa::path(post, path = "/api/v1/notifications/mark-seen", tag = "feed", request_body = IdsBody,
    security(("user_token" = [])), responses((status = 200, body = SeenCount), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn mark_seen(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let ids = parse_ids(&body.ids)?;
    let (ids, c) = state.feed.change(&user.0, &ids, Transition::Seen).await?;
    Ok(HttpResponse::Ok().json(SeenCount {
        ids: Some(ids),
        unseen_count: c.unseen,
    }))
}

/// Mark every active notification seen.
#[utoipa::path(post, path = "/api/v1/notifications/mark-all-seen", tag = "feed",
    security(("user_token" = [])), responses((status = 200, body = SeenCount)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn mark_all_seen(
    user: AuthedUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let c = state.feed.mark_all_seen(&user.0).await?;
    Ok(HttpResponse::Ok().json(SeenCount {
        ids: None,
        unseen_count: c.unseen,
    }))
}

async fn change_one(
    user: &AuthedUser,
    state: &AppState,
    raw: &str,
    t: Transition,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(raw)?;
    let (ids, c) = state.feed.change(&user.0, &[id], t).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found("notification"));
    }
    Ok(HttpResponse::Ok().json(Changed::new(ids, c)))
}

/// Archive several notifications: they leave the default list and show under `status=archived`.
#[utoipa::path(post, path = "/api/v1/notifications/archive", tag = "feed", request_body = IdsBody,
    security(("user_token" = [])), responses((status = 200, body = Changed), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn archive_many(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let ids = parse_ids(&body.ids)?;
    let (ids, c) = state
        .feed
        .change(&user.0, &ids, Transition::Archive)
        .await?;
    Ok(HttpResponse::Ok().json(Changed::new(ids, c)))
}

/// Archive one notification.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/archive", tag = "feed", params(("id" = String, Path)),
    security(("user_token" = [])), responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn archive_one(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<Segment>,
) -> Result<HttpResponse, ApiError> {
    change_one(&user, &state, &path, Transition::Archive).await
}

/// Bring one archived notification back to the default list.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/unarchive", tag = "feed", params(("id" = String, Path)),
    security(("user_token" = [])), responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn unarchive_one(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<Segment>,
) -> Result<HttpResponse, ApiError> {
    change_one(&user, &state, &path, Transition::Unarchive).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeBody {
    /// RFC 3339; in the future and at most `inbox.max_snooze_days` (default 90) ahead.
    #[schema(format = DateTime)]
    pub until: String,
}

#[derive(Serialize, ToSchema)]
pub struct Snoozed {
    #[schema(value_type = Vec<String>)]
    pub ids: Vec<Uuid>,
    pub until: DateTime<Utc>,
    pub unread_count: u64,
    pub unseen_count: u64,
}

/// Hide one notification until `until`; it comes back with an `unsnoozed` frame.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/snooze", tag = "feed", params(("id" = String, Path)),
    request_body = SnoozeBody, security(("user_token" = [])),
    responses((status = 200, body = Snoozed), (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn snooze(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<Segment>,
    body: super::Body<SnoozeBody>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let max_days = state.feed.settings().max_snooze_days;
    let until = Snooze::parse(&body.until, Utc::now(), max_days)?.until();
    let (ids, c) = state
        .feed
        .change(&user.0, &[id], Transition::Snooze(until))
        .await?;
    if ids.is_empty() {
        return Err(ApiError::not_found("notification"));
    }
    Ok(HttpResponse::Ok().json(Snoozed {
        ids,
        until,
        unread_count: c.unread,
        unseen_count: c.unseen,
    }))
}

/// End one notification's snooze now.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/unsnooze", tag = "feed", params(("id" = String, Path)),
    security(("user_token" = [])), responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn unsnooze(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<Segment>,
) -> Result<HttpResponse, ApiError> {
    change_one(&user, &state, &path, Transition::Unsnooze).await
}

#[derive(Serialize, ToSchema)]
pub struct CategoryTab {
    pub category: String,
    pub unread_count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Categories {
    /// The categories of my active notifications, by name (at most 100).
    pub categories: Vec<CategoryTab>,
}

/// The category tabs of my inbox, with unread counts for their badges.
#[utoipa::path(get, path = "/api/v1/notifications/categories", tag = "feed",
    security(("user_token" = [])), responses((status = 200, body = Categories)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn categories(
    user: AuthedUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rows = inbox::categories(&state.db, &user.0).await?;
    Ok(HttpResponse::Ok().json(Categories {
        categories: rows
            .into_iter()
            .map(|r| CategoryTab {
                category: r.category,
                unread_count: r.unread,
            })
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct UrlActionTaken {
    pub url: String,
}

#[derive(Serialize, ToSchema)]
pub struct EventActionTaken {
    /// `action:{notification_id}:{index}`; see `GET /api/v1/events/{event_id}`.
    pub event_id: String,
}

/// Take one of a notification's actions (index 0 or 1) and mark it read. A `url`
/// action records the click and returns the URL; an `event` action ingests an event
/// of that type (payload `notification_id`, `action_index`, `label`, `user_id`) once.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/actions/{index}", tag = "feed",
    params(("id" = String, Path), ("index" = u8, Path, minimum = 0, maximum = 1)),
    security(("user_token" = [])),
    responses((status = 200, body = UrlActionTaken), (status = 202, body = EventActionTaken),
        (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn take_action(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<(Segment, Segment)>,
) -> Result<HttpResponse, ApiError> {
    let (raw_id, raw_index) = path.into_inner();
    let id = parse_id(&raw_id)?;
    let index: usize = raw_index
        .parse()
        .map_err(|_| ApiError::unprocessable("invalid_action_index", "index must be 0 or 1"))?;
    match state
        .feed
        .take_action(&state.pipeline, &user.0, id, index)
        .await?
    {
        ActionTaken::Url(url) => Ok(HttpResponse::Ok().json(UrlActionTaken { url })),
        ActionTaken::Event(event_id) => {
            Ok(HttpResponse::Accepted().json(EventActionTaken { event_id }))
        }
    }
}
