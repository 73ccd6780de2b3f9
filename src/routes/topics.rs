//! Topics over HTTP: create or rename, list, read, delete, and manage their
//! subscribers. API key (admin) only. Sends to a topic are in `topic_sends.rs`.

use super::endpoint::Endpoint;
use super::preference_history::{decode_cursor, encode_cursor, page_limit};
use super::{ApiError, AppState};
use crate::auth::Admin;
use crate::domain::{TopicError, TopicKey, UserId};
use crate::persistence::topics::{self, Topic};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(super) use super::topic_sends::send_to_topic;

const MAX_PAGE: u64 = 1000;
const DEFAULT_PAGE: u64 = 100;
/// Longest topic name.
const MAX_NAME_LEN: usize = 200;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/topics").get(list))
        .service(
            Endpoint::new("/topics/{key}/subscribers")
                .get(subscribers)
                .post(subscribe)
                .delete(unsubscribe),
        )
        .service(Endpoint::new("/topics/{key}/sends/{id}").get(super::topic_sends::progress))
        .service(
            Endpoint::new("/topics/{key}")
                .get(get_one)
                .put(put)
                .delete(delete),
        );
}

impl From<TopicError> for ApiError {
    fn from(e: TopicError) -> Self {
        match e {
            TopicError::InvalidKey => ApiError::unprocessable("invalid_topic_key", e.to_string()),
        }
    }
}

impl From<crate::topics::TopicsError> for ApiError {
    fn from(e: crate::topics::TopicsError) -> Self {
        match e {
            crate::topics::TopicsError::Store(s) => s.into(),
            other => ApiError::internal(other),
        }
    }
}

pub(super) fn parse_key(raw: &str) -> Result<TopicKey, ApiError> {
    Ok(TopicKey::parse(raw)?)
}

/// The topic, or 404.
pub(super) async fn existing(state: &AppState, key: &TopicKey) -> Result<Topic, ApiError> {
    topics::get(&state.db, key)
        .await?
        .ok_or_else(|| ApiError::not_found("topic"))
}

#[derive(Serialize, ToSchema)]
pub struct TopicView {
    pub key: String,
    pub name: String,
    pub subscribers: u64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl From<Topic> for TopicView {
    fn from(t: Topic) -> Self {
        Self {
            key: t.key.as_str().to_string(),
            name: t.name,
            subscribers: t.subscribers,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicInput {
    /// A display name (1-200 characters); defaults to the key.
    pub name: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIds {
    /// At most `topics.max_ids_per_request` (1000) user ids.
    pub user_ids: Vec<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// 1-1000, default 100.
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TopicPage {
    pub items: Vec<TopicView>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriberPage {
    pub user_ids: Vec<String>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Create a topic, or rename it.
#[utoipa::path(put, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path)),
    request_body = TopicInput, security(("api_key" = [])),
    responses((status = 201, body = TopicView), (status = 200, body = TopicView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(topic = %path))]
pub async fn put(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<TopicInput>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&path)?;
    let name = body
        .into_inner()
        .name
        .unwrap_or_else(|| key.as_str().into());
    if name.trim().is_empty()
        || name.chars().count() > MAX_NAME_LEN
        || crate::domain::has_control(&name)
    {
        return Err(ApiError::unprocessable(
            "invalid_name",
            format!("name must be 1 to {MAX_NAME_LEN} printable characters"),
        ));
    }
    let created = topics::upsert(&state.db, &key, &name).await?;
    let view = TopicView::from(existing(&state, &key).await?);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Topics by key.
#[utoipa::path(get, path = "/api/v1/topics", tag = "topics", params(PageParams), security(("api_key" = [])),
    responses((status = 200, body = TopicPage)))]
#[tracing::instrument(skip_all)]
pub async fn list(
    _: Admin,
    state: web::Data<AppState>,
    q: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(q.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let after = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor("t", c))
        .transpose()?;
    let mut rows = topics::list(&state.db, after.as_deref(), limit + 1).await?;
    let next_cursor = more(&mut rows, limit).map(|t| encode_cursor("t", t.key.as_str()));
    let items = rows.into_iter().map(TopicView::from).collect();
    Ok(HttpResponse::Ok().json(TopicPage { items, next_cursor }))
}

/// Keeps `limit` rows and returns the last kept one when there were more.
fn more<T>(rows: &mut Vec<T>, limit: u64) -> Option<&T> {
    if rows.len() as u64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        rows.last()
    } else {
        None
    }
}

/// One topic.
#[utoipa::path(get, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = TopicView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(topic = %path))]
pub async fn get_one(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&path)?;
    Ok(HttpResponse::Ok().json(TopicView::from(existing(&state, &key).await?)))
}

/// Delete a topic, its subscriptions and its sends' progress (what was sent stays).
#[utoipa::path(delete, path = "/api/v1/topics/{key}", tag = "topics", params(("key" = String, Path)),
    security(("api_key" = [])), responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(topic = %path))]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&path)?;
    if topics::delete(&state.db, &key).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("topic"))
    }
}

fn parse_ids(state: &AppState, raw: Vec<String>) -> Result<Vec<UserId>, ApiError> {
    let max = state.topics.max_ids_per_request;
    if raw.is_empty() || raw.len() > max {
        return Err(ApiError::unprocessable(
            "invalid_user_ids",
            format!("user_ids must hold 1 to {max} ids"),
        ));
    }
    let mut ids = raw
        .into_iter()
        .map(UserId::parse)
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup();
    Ok(ids)
}

/// Subscribes or unsubscribes the body's users, then answers with the topic.
async fn change(
    state: &AppState,
    path: &str,
    body: UserIds,
    subscribe: bool,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(path)?;
    let ids = parse_ids(state, body.user_ids)?;
    existing(state, &key).await?;
    if subscribe {
        topics::subscribe(&state.db, &key, &ids).await?;
    } else {
        topics::unsubscribe(&state.db, &key, &ids).await?;
    }
    Ok(HttpResponse::Ok().json(TopicView::from(existing(state, &key).await?)))
}

/// Subscribe users (unknown ones are created bare); repeats change nothing.
#[utoipa::path(post, path = "/api/v1/topics/{key}/subscribers", tag = "topics", params(("key" = String, Path)),
    request_body = UserIds, security(("api_key" = [])),
    responses((status = 200, body = TopicView), (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(topic = %path))]
pub async fn subscribe(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<UserIds>,
) -> Result<HttpResponse, ApiError> {
    change(&state, &path, body.into_inner(), true).await
}

/// Unsubscribe users; those not subscribed are ignored.
#[utoipa::path(delete, path = "/api/v1/topics/{key}/subscribers", tag = "topics", params(("key" = String, Path)),
    request_body = UserIds, security(("api_key" = [])),
    responses((status = 200, body = TopicView), (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(topic = %path))]
pub async fn unsubscribe(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<UserIds>,
) -> Result<HttpResponse, ApiError> {
    change(&state, &path, body.into_inner(), false).await
}

/// A topic's subscribers by user id.
#[utoipa::path(get, path = "/api/v1/topics/{key}/subscribers", tag = "topics",
    params(("key" = String, Path), PageParams), security(("api_key" = [])),
    responses((status = 200, body = SubscriberPage), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(topic = %path))]
pub async fn subscribers(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    q: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let key = parse_key(&path)?;
    let limit = page_limit(q.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let after = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor("u", c))
        .transpose()?;
    existing(&state, &key).await?;
    let mut ids = topics::subscribers(&state.db, &key, after.as_deref(), limit + 1).await?;
    let next_cursor = more(&mut ids, limit).map(|u| encode_cursor("u", u.as_str()));
    let user_ids = ids.into_iter().map(|u| u.as_str().to_string()).collect();
    Ok(HttpResponse::Ok().json(SubscriberPage {
        user_ids,
        next_cursor,
    }))
}
