//! `POST /send`: a service sends one user a notification (seed 002's body).

use super::{ApiError, AppState};
use crate::auth::Sender;
use crate::domain::{Channel, NewNotification, Priority, UserId};
use crate::feed::{ChannelStatus, SendOutcome};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub user_id: String,
    /// Channels to use; defaults to `["in_app"]`.
    pub channels: Option<Vec<String>>,
    /// Seed 002's single channel, used when `channels` is absent.
    pub notification_type: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    /// Render a stored template instead of `title`/`body`.
    pub template_code: Option<String>,
    #[schema(value_type = Object)]
    pub variables: Option<serde_json::Value>,
    pub category: Option<String>,
    /// `low|normal|high|critical`, or seed 002's 1-10.
    #[schema(value_type = Object)]
    pub priority: Option<serde_json::Value>,
    pub action_url: Option<String>,
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
    /// Seed 002's free-form metadata; `metadata.title` is a fallback title, the rest joins `data`.
    #[schema(value_type = Object)]
    pub metadata: Option<serde_json::Value>,
    /// Idempotency key: a repeat for the same user returns the same notification.
    pub request_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SendResponse {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub notification_id: Option<uuid::Uuid>,
    pub request_id: Option<String>,
    /// `accepted` (something was stored or queued) or `suppressed` (nothing was: preferences, or no address).
    pub status: &'static str,
    /// True when `request_id` had been seen and the earlier notification is returned.
    pub duplicate: bool,
    pub seq: Option<i64>,
    pub channels: BTreeMap<String, ChannelStatus>,
}

pub(crate) fn parse_channels(
    req_channels: Option<Vec<String>>,
    single: Option<String>,
) -> Result<Vec<Channel>, ApiError> {
    let raw = match (req_channels, single) {
        (Some(list), _) => list,
        (None, Some(one)) => vec![one],
        (None, None) => vec!["in_app".into()],
    };
    if raw.is_empty() {
        return Err(ApiError::unprocessable(
            "invalid_channel",
            "channels must not be empty",
        ));
    }
    let mut channels = raw
        .iter()
        .map(|c| Channel::parse(c))
        .collect::<Result<Vec<_>, _>>()?;
    channels.sort();
    channels.dedup();
    Ok(channels)
}

/// Renders the in-app parts of `code` for `user`'s locale: (title, body, action_url, version).
async fn render_in_app(
    state: &AppState,
    user: &UserId,
    code: &str,
    vars: &serde_json::Value,
) -> Result<(String, String, Option<String>, i32), ApiError> {
    let engine = state.pipeline.templates();
    if !engine.exists(code) {
        return Err(ApiError::unprocessable(
            "template_not_found",
            format!("template '{code}' does not exist"),
        ));
    }
    let locale = crate::persistence::users::get(&state.db, user)
        .await?
        .and_then(|u| u.locale);
    let r = engine
        .render(code, locale.as_deref(), "in_app", vars)
        .map_err(|e| ApiError::unprocessable("template_render_failed", e.to_string()))?;
    let part = |n: &str| r.parts.get(n).cloned().unwrap_or_default();
    let url = r
        .parts
        .get("action_url")
        .filter(|u| !u.trim().is_empty())
        .cloned();
    Ok((part("title"), part("body"), url, r.version))
}

impl SendRequest {
    async fn into_parts(
        mut self,
        state: &AppState,
    ) -> Result<(NewNotification, Vec<Channel>), ApiError> {
        let mut template = None;
        if let Some(code) = self.template_code.take() {
            let user = UserId::parse(self.user_id.clone())?;
            let vars = self
                .variables
                .take()
                .unwrap_or_else(|| serde_json::json!({}));
            let (title, body, url, version) = render_in_app(state, &user, &code, &vars).await?;
            self.title = self.title.or(Some(title));
            self.body = self.body.or(Some(body));
            self.action_url = self.action_url.or(url);
            template = Some((code, version));
        }
        let (mut new, channels) = self.into_plain_parts()?;
        new.template = template;
        Ok((new, channels))
    }

    fn into_plain_parts(self) -> Result<(NewNotification, Vec<Channel>), ApiError> {
        if self.variables.is_some() && self.template_code.is_none() {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "variables need a template_code",
            ));
        }
        let user = UserId::parse(self.user_id)?;
        let channels = parse_channels(self.channels, self.notification_type)?;
        let mut data = self.data.unwrap_or_else(|| serde_json::json!({}));
        let mut title = self.title;
        if let Some(serde_json::Value::Object(meta)) = self.metadata {
            for (k, v) in meta {
                if k == "title" && title.is_none() {
                    title = v.as_str().map(str::to_string);
                } else if let Some(obj) = data.as_object_mut() {
                    obj.entry(k).or_insert(v);
                }
            }
        }
        let priority = Priority::parse(self.priority.as_ref().unwrap_or(&serde_json::Value::Null))?;
        let new = NewNotification::parse(
            user,
            self.category,
            title.unwrap_or_default(),
            self.body.unwrap_or_default(),
            self.action_url,
            Some(data),
            priority,
            self.request_id,
        )?;
        Ok((new, channels))
    }
}

pub(crate) fn respond(outcome: SendOutcome, request_id: Option<String>) -> HttpResponse {
    let body = SendResponse {
        notification_id: outcome.notification.as_ref().map(|n| n.id),
        seq: outcome.notification.as_ref().map(|n| n.seq),
        status: if outcome
            .channels
            .values()
            .any(|s| matches!(s, ChannelStatus::Accepted | ChannelStatus::Queued))
        {
            "accepted"
        } else {
            "suppressed"
        },
        duplicate: outcome.duplicate,
        request_id,
        channels: outcome
            .channels
            .into_iter()
            .map(|(c, s)| (c.as_str().to_string(), s))
            .collect(),
    };
    HttpResponse::Accepted().json(body)
}

/// Send a user a notification. In-app notifications are stored and pushed
/// to every open WebSocket session of the user before the answer.
#[utoipa::path(post, path = "/api/v1/send", tag = "send", request_body = SendRequest,
    security(("api_key" = [])),
    responses((status = 202, body = SendResponse), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn send(
    _: Sender,
    state: web::Data<AppState>,
    body: web::Json<SendRequest>,
) -> Result<HttpResponse, ApiError> {
    let (new, channels) = body.into_inner().into_parts(&state).await?;
    let request_id = new.request_id.clone();
    let outcome = state.feed.send(new, &channels).await?;
    Ok(respond(outcome, request_id))
}
