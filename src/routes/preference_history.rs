//! The consent audit over HTTP: a user reads their own preference history,
//! a service reads any user's.

use super::endpoint::Endpoint;
use super::{path_user, ApiError, AppState};
use crate::auth::{Admin, AuthedUser};
use crate::domain::UserId;
use crate::persistence::preference_history;
use actix_web::{web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const MAX_PAGE: u64 = 100;
const DEFAULT_PAGE: u64 = 20;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/preferences/history").get(mine))
        .service(Endpoint::new("/users/{user_id}/preferences/history").get(theirs));
}

/// An opaque page cursor: `{prefix}:{value}` in URL-safe base64.
pub(super) fn encode_cursor(prefix: &str, value: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{prefix}:{value}"))
}

pub(super) fn decode_cursor(prefix: &str, raw: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix(&format!("{prefix}:")).map(str::to_string))
        .ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "cursor is not one this server issued")
        })
}

/// `limit` within 1..=`max`, `default` when absent.
pub(super) fn page_limit(limit: Option<u64>, default: u64, max: u64) -> Result<u64, ApiError> {
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be between 1 and {max}"),
        ));
    }
    Ok(limit)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// 1-100, default 20.
    pub limit: Option<u64>,
    /// `next_cursor` from the previous page.
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    #[schema(value_type = String, format = Uuid)]
    pub id: uuid::Uuid,
    /// `user`, `api_key` or `unsubscribe`.
    pub origin: String,
    /// The API key's name, for `api_key` changes.
    pub api_key_name: Option<String>,
    /// Changed fields by dot path (`categories.marketing.email`) and their values before.
    #[schema(value_type = Object)]
    pub before: serde_json::Value,
    #[schema(value_type = Object)]
    pub after: serde_json::Value,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

async fn page(
    state: &AppState,
    user: &UserId,
    q: &HistoryParams,
) -> Result<HttpResponse, ApiError> {
    let limit = page_limit(q.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let before = match &q.cursor {
        Some(raw) => Some(
            uuid::Uuid::parse_str(&decode_cursor("h", raw)?).map_err(|_| {
                ApiError::bad_request("invalid_cursor", "cursor is not one this server issued")
            })?,
        ),
        None => None,
    };
    let mut rows = preference_history::list(&state.db, user, before, limit + 1).await?;
    let next_cursor = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|e| encode_cursor("h", &e.id.to_string()))
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|e| HistoryEntry {
            id: e.id,
            origin: e.origin,
            api_key_name: e.api_key_name,
            before: e.before,
            after: e.after,
            at: e.at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(HistoryPage { items, next_cursor }))
}

/// My preference changes, newest first.
#[utoipa::path(get, path = "/api/v1/preferences/history", tag = "preferences", params(HistoryParams),
    security(("user_token" = [])), responses((status = 200, body = HistoryPage), (status = 400, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn mine(
    user: AuthedUser,
    state: web::Data<AppState>,
    q: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    page(&state, &user.0, &q).await
}

/// A user's preference changes, newest first.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/preferences/history", tag = "preferences",
    params(("user_id" = String, Path), HistoryParams), security(("api_key" = [])),
    responses((status = 200, body = HistoryPage), (status = 400, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn theirs(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    q: web::Query<HistoryParams>,
) -> Result<HttpResponse, ApiError> {
    page(&state, &path_user(&path)?, &q).await
}
