//! The user's own feed (JWT). Every query is scoped to the token's `sub`.

use super::send::respond;
use super::{ApiError, AppState, Endpoint};
use crate::auth::AuthedUser;
use crate::domain::{Channel, InboxStatus, NotificationView, Priority};
use crate::persistence::inbox::Transition;
use crate::persistence::notifications::{self, ListQuery};
use actix_web::{web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const MAX_PAGE: u64 = 100;
const DEFAULT_PAGE: u64 = 20;
const MAX_IDS: usize = 1000;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // First: `/notifications/{id}` would otherwise claim `/notifications/categories`.
    super::inbox::configure(cfg);
    cfg.service(Endpoint::new("/notifications").get(list))
        .service(Endpoint::new("/notifications/unread-count").get(unread_count))
        .service(Endpoint::new("/notifications/mark-read").post(mark_read_many))
        .service(Endpoint::new("/notifications/mark-all-read").post(mark_all_read))
        .service(Endpoint::new("/notifications/delete").post(delete_many))
        .service(Endpoint::new("/notifications/test").post(send_test))
        .service(Endpoint::new("/notifications/{id}/read").post(mark_read_one))
        .service(Endpoint::new("/notifications/{id}/unread").post(mark_unread_one))
        .service(
            Endpoint::new("/notifications/{id}")
                .get(get_one)
                .delete(delete_one),
        );
}

fn encode_cursor(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("s:{seq}"))
}

fn decode_cursor(raw: &str) -> Result<i64, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("s:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this server issued")
        })
}

pub(super) fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    Ok(crate::domain::NotificationId::parse(raw)?.as_uuid())
}

pub(super) fn parse_ids(raw: &[String]) -> Result<Vec<Uuid>, ApiError> {
    if raw.len() > MAX_IDS {
        return Err(ApiError::unprocessable(
            "too_many_ids",
            format!("at most {MAX_IDS} ids per request"),
        ));
    }
    raw.iter().map(|s| parse_id(s)).collect()
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// 1 to 100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
    pub unread_only: Option<bool>,
    /// Only items not yet seen.
    pub unseen_only: Option<bool>,
    #[param(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:-]+$")]
    pub category: Option<String>,
    /// `active` (default: not archived, not currently snoozed), `archived` or `all`.
    #[param(inline)]
    pub status: Option<InboxStatus>,
    /// Only items with this tag.
    #[param(min_length = 1, max_length = 32, pattern = "^[A-Za-z0-9_.:-]+$")]
    pub tag: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<NotificationView>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
    pub unread_count: u64,
    pub unseen_count: u64,
}

/// My notifications, newest first, with stable cursor pagination.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "feed", params(ListParams),
    security(("user_token" = [])), responses((status = 200, body = FeedPage), (status = 400, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn list(
    user: AuthedUser,
    state: web::Data<AppState>,
    q: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let category = q
        .category
        .clone()
        .map(crate::domain::Category::parse)
        .transpose()?;
    let query = ListQuery {
        limit: limit + 1,
        before_seq: q.cursor.as_deref().map(decode_cursor).transpose()?,
        unread_only: q.unread_only.unwrap_or(false),
        unseen_only: q.unseen_only.unwrap_or(false),
        category: category.map(|c| c.as_str().to_string()),
        tag: q.tag.clone().map(crate::domain::Tag::parse).transpose()?,
        status: q.status.unwrap_or_default(),
    };
    let mut items = notifications::list(&state.db, &user.0, &query).await?;
    let next_cursor = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(|n| encode_cursor(n.seq))
    } else {
        None
    };
    let counts = state.feed.counts(&user.0).await?;
    Ok(HttpResponse::Ok().json(FeedPage {
        items,
        next_cursor,
        unread_count: counts.unread,
        unseen_count: counts.unseen,
    }))
}

/// Archived and currently snoozed items count in neither.
#[derive(Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread_count: u64,
    pub unseen_count: u64,
}

impl From<crate::persistence::inbox::Counts> for UnreadCount {
    fn from(c: crate::persistence::inbox::Counts) -> Self {
        Self {
            unread_count: c.unread,
            unseen_count: c.unseen,
        }
    }
}

/// How many of my active notifications are unread, and how many unseen.
#[utoipa::path(get, path = "/api/v1/notifications/unread-count", tag = "feed",
    security(("user_token" = [])), responses((status = 200, body = UnreadCount)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn unread_count(
    user: AuthedUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let counts = state.feed.counts(&user.0).await?;
    Ok(HttpResponse::Ok().json(UnreadCount::from(counts)))
}

/// One of my notifications.
#[utoipa::path(get, path = "/api/v1/notifications/{id}", tag = "feed", params(("id" = String, Path)),
    security(("user_token" = [])), responses((status = 200, body = NotificationView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn get_one(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let n = notifications::get(&state.db, &user.0, id)
        .await?
        .ok_or_else(|| ApiError::not_found("notification"))?;
    Ok(HttpResponse::Ok().json(n))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdsBody {
    /// Notification ids (UUIDs), at most 1000.
    #[schema(max_items = 1000)]
    pub ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Changed {
    /// The ids that were mine and changed; others are ignored.
    #[schema(value_type = Vec<String>)]
    pub ids: Vec<Uuid>,
    pub unread_count: u64,
    pub unseen_count: u64,
}

impl Changed {
    pub fn new(ids: Vec<Uuid>, c: crate::persistence::inbox::Counts) -> Self {
        Self {
            ids,
            unread_count: c.unread,
            unseen_count: c.unseen,
        }
    }
}

async fn set_read_one(
    user: AuthedUser,
    state: web::Data<AppState>,
    raw: &str,
    read: bool,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(raw)?;
    let t = if read {
        Transition::Read
    } else {
        Transition::Unread
    };
    let (ids, counts) = state.feed.change(&user.0, &[id], t).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found("notification"));
    }
    Ok(HttpResponse::Ok().json(Changed::new(ids, counts)))
}

/// Mark one notification read.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "feed", params(("id" = String, Path)),
    security(("user_token" = [])), responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn mark_read_one(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    set_read_one(user, state, &path, true).await
}

/// Mark one notification unread.
#[utoipa::path(post, path = "/api/v1/notifications/{id}/unread", tag = "feed", params(("id" = String, Path)),
    security(("user_token" = [])), responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn mark_unread_one(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    set_read_one(user, state, &path, false).await
}

/// Mark several notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/mark-read", tag = "feed", request_body = IdsBody,
    security(("user_token" = [])), responses((status = 200, body = Changed)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn mark_read_many(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let ids = parse_ids(&body.ids)?;
    let (ids, counts) = state.feed.change(&user.0, &ids, Transition::Read).await?;
    Ok(HttpResponse::Ok().json(Changed::new(ids, counts)))
}

/// Mark every notification read.
#[utoipa::path(post, path = "/api/v1/notifications/mark-all-read", tag = "feed",
    security(("user_token" = [])), responses((status = 200, body = UnreadCount)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn mark_all_read(
    user: AuthedUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let counts = state.feed.mark_all_read(&user.0).await?;
    Ok(HttpResponse::Ok().json(UnreadCount::from(counts)))
}

/// Delete one notification.
#[utoipa::path(delete, path = "/api/v1/notifications/{id}", tag = "feed", params(("id" = String, Path)),
    security(("user_token" = [])), responses((status = 200, body = Changed), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn delete_one(
    user: AuthedUser,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&path)?;
    let (ids, counts) = state.feed.delete(&user.0, &[id]).await?;
    if ids.is_empty() {
        return Err(ApiError::not_found("notification"));
    }
    Ok(HttpResponse::Ok().json(Changed::new(ids, counts)))
}

/// Delete several notifications.
#[utoipa::path(post, path = "/api/v1/notifications/delete", tag = "feed", request_body = IdsBody,
    security(("user_token" = [])), responses((status = 200, body = Changed)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn delete_many(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<IdsBody>,
) -> Result<HttpResponse, ApiError> {
    let ids = parse_ids(&body.ids)?;
    let (ids, counts) = state.feed.delete(&user.0, &ids).await?;
    Ok(HttpResponse::Ok().json(Changed::new(ids, counts)))
}

/// Send myself a test notification (at most `rate_limit.test_per_user_per_hour`).
#[utoipa::path(post, path = "/api/v1/notifications/test", tag = "feed",
    security(("user_token" = [])), responses((status = 202, body = super::send::SendResponse),
    (status = 429, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn send_test(
    user: AuthedUser,
    state: web::Data<AppState>,
    limits: web::Data<crate::ratelimit::RateLimits>,
) -> Result<HttpResponse, actix_web::Error> {
    limits.test_notification(&user.0)?;
    let intent = crate::producer::Intent {
        user: user.0,
        channels: vec![Channel::InApp],
        category: crate::domain::Category::parse("test").map_err(ApiError::from)?,
        priority: Priority::Normal,
        content: crate::producer::Content::Plain {
            title: "Test notification".into(),
            body: "This is a test notification from Herald. Your inbox works.".into(),
            action_url: None,
            data: serde_json::json!({}),
        },
        rule_id: None,
        request_id: None,
        email: None,
        phone: None,
    };
    let outcome = state
        .pipeline
        .producer()
        .send(intent)
        .await
        .map_err(ApiError::from)?;
    Ok(respond(outcome, None))
}
