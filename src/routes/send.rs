//! `POST /send`: a service sends one user a notification .

use super::{ApiError, AppState};
use crate::auth::Sender;
use crate::domain::{
    parse_request_id, ActionInput, Actions, Category, Channel, ChannelOutcome, NewNotification,
    Priority, Tags, TopicKey, UserId,
};
use crate::producer::{Content, InAppExtras, Intent, SendOutcome};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// The recipient: exactly one of `user_id` and `topic`.
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9._:@+|=-]+$")]
    pub user_id: Option<String>,
    /// A topic key: the send fans out to every subscriber (see `/topics`).
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:-]+$")]
    pub topic: Option<String>,
    /// Channels to use; defaults to `["in_app"]`.
    pub channels: Option<Vec<String>>,
    /// A single channel, used when `channels` is absent.
    pub notification_type: Option<String>,
    /// At most 512 characters; a plain send needs a title or a body.
    #[schema(max_length = 512)]
    pub title: Option<String>,
    #[schema(max_length = 16384)]
    pub body: Option<String>,
    /// Render a stored template instead of `title`/`body`.
    pub template_code: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<serde_json::Value>,
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:-]+$")]
    pub category: Option<String>,
    /// `low|normal|high|critical`, or 1-10.
    #[schema(value_type = Option<PriorityInput>)]
    pub priority: Option<serde_json::Value>,
    /// An http(s) URL, or a path starting with `/` without `//` or `\\` before any `?`.
    #[schema(max_length = 2048)]
    pub action_url: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
    /// Free-form metadata; `metadata.title` is a fallback title, the rest joins `data`.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    /// Idempotency key: a repeat for the same user returns the same notification.
    #[schema(min_length = 1, max_length = 255)]
    pub request_id: Option<String>,
    /// In-app tags: at most 10, each 1-32 characters of `[A-Za-z0-9_.:-]`.
    #[schema(max_items = 10)]
    pub tags: Option<Vec<String>>,
    /// In-app buttons: at most 2, each with a `label` and exactly one of `url` and `event`.
    #[schema(max_items = 2)]
    pub actions: Option<Vec<ActionInput>>,
    /// Send at this RFC 3339 time instead of now; a time not in the future sends at once.
    pub send_at: Option<String>,
    /// Send after this long (`90s`, `15m`, `2h`, `1d`); not together with `send_at`.
    pub delay: Option<String>,
}

pub(super) enum Recipient {
    User(UserId),
    Topic(TopicKey),
}

/// A priority name, or the 1-10 scale. Only for the document: the
/// handler reads the raw value with [`Priority::parse`].
#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum PriorityInput {
    Name(Priority),
    Scale(u8),
}

#[derive(Serialize, ToSchema)]
pub struct SendResponse {
    #[schema(value_type = Option<String>, format = Uuid)]
    pub notification_id: Option<uuid::Uuid>,
    pub request_id: Option<String>,
    /// `accepted` (something was stored or queued) or `suppressed` (nothing was: preferences, no address, the throttle).
    pub status: &'static str,
    /// True when `request_id` had been seen and the earlier notification is returned.
    pub duplicate: bool,
    pub seq: Option<i64>,
    /// Per channel: `accepted` (in-app), `queued`, `skipped` (no address), `suppressed`,
    /// `throttled` (push limit) or `unavailable` (webhooks subscribe to events).
    pub channels: BTreeMap<String, String>,
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

impl SendRequest {
    /// Who the send is for: exactly one of a user and a topic.
    pub(super) fn recipient(&self) -> Result<Recipient, ApiError> {
        match (&self.user_id, &self.topic) {
            (Some(user), None) => Ok(Recipient::User(UserId::parse(user.clone())?)),
            (None, Some(topic)) => Ok(Recipient::Topic(TopicKey::parse(topic.clone())?)),
            _ => Err(ApiError::unprocessable(
                "invalid_recipient",
                "give exactly one of user_id and topic",
            )),
        }
    }

    /// Parses the request into the producer's intent (for `user`) and the in-app extras.
    pub(super) fn into_intent(self, user: UserId) -> Result<(Intent, InAppExtras), ApiError> {
        if self.variables.is_some() && self.template_code.is_none() {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "variables need a template_code",
            ));
        }
        let extras = InAppExtras {
            tags: Tags::parse(self.tags.unwrap_or_default())?,
            actions: Actions::parse(self.actions.unwrap_or_default())?,
        };
        let channels = parse_channels(self.channels, self.notification_type)?;
        let mut data = self.data.unwrap_or_else(|| serde_json::json!({}));
        if !data.is_object() {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "data must be a JSON object",
            ));
        }
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
        let category = match self.category {
            Some(c) => Category::parse(c)?,
            None => Category::default_category(),
        };
        let request_id = self.request_id.map(parse_request_id).transpose()?;
        let content = match self.template_code {
            Some(code) => Content::Template {
                code,
                vars: self.variables.unwrap_or_else(|| serde_json::json!({})),
                data,
                in_app_overrides: (title, self.body, self.action_url),
            },
            None => {
                let (title, body) = (title.unwrap_or_default(), self.body.unwrap_or_default());
                // Checked here too, so a send with no in-app part is refused the same way.
                NewNotification::parse(
                    user.clone(),
                    Some(category.as_str().to_string()),
                    title.clone(),
                    body.clone(),
                    self.action_url.clone(),
                    Some(data.clone()),
                    priority,
                    request_id.clone(),
                )?;
                Content::Plain {
                    title,
                    body,
                    action_url: self.action_url,
                    data,
                }
            }
        };
        Ok((
            Intent {
                user,
                channels,
                category,
                priority,
                content,
                rule_id: None,
                request_id,
                email: None,
                phone: None,
            },
            extras,
        ))
    }
}

pub(crate) fn respond(outcome: SendOutcome, request_id: Option<String>) -> HttpResponse {
    let body = SendResponse {
        notification_id: outcome.notification_id,
        seq: outcome.notification.as_ref().map(|n| n.seq),
        status: if outcome.outcomes.values().any(ChannelOutcome::produced) {
            "accepted"
        } else {
            "suppressed"
        },
        duplicate: outcome.duplicate,
        request_id,
        channels: outcome
            .outcomes
            .into_iter()
            .map(|(c, s)| (c.as_str().to_string(), s.as_str().to_string()))
            .collect(),
    };
    HttpResponse::Accepted().json(body)
}

/// Send a user a notification. In-app notifications are stored and pushed
/// to every open WebSocket session of the user before the answer.
#[utoipa::path(post, path = "/api/v1/send", tag = "send", request_body = SendRequest,
    security(("api_key" = [])),
    responses((status = 202, body = SendResponse), (status = 404, description = "the `topic` does not exist", body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn send(
    _: Sender,
    state: web::Data<AppState>,
    body: super::Body<SendRequest>,
) -> Result<HttpResponse, ApiError> {
    let timing = super::scheduled::timing(&state, &body)?;
    let req = body.into_inner();
    let user = match req.recipient()? {
        Recipient::User(user) => user,
        Recipient::Topic(_) if matches!(timing, crate::schedule::SendTiming::At(_)) => {
            return Err(ApiError::unprocessable(
                "invalid_schedule",
                "a topic send cannot carry send_at or delay; schedule it per user or send it at its time",
            ));
        }
        Recipient::Topic(topic) => return super::topics::send_to_topic(&state, topic, req).await,
    };
    let (intent, extras) = req.into_intent(user)?;
    if let crate::schedule::SendTiming::At(due) = timing {
        return super::scheduled::accept(&state, intent, extras, due).await;
    }
    let request_id = intent.request_id.clone();
    // A template `herald import` just wrote (SQLite) renders from this send on.
    if matches!(intent.content, Content::Template { .. }) {
        state.pipeline.catalog().check_before_event().await;
    }
    let outcome = state.pipeline.producer().send_with(intent, extras).await?;
    Ok(respond(outcome, request_id))
}

impl From<crate::producer::ProducerError> for ApiError {
    fn from(e: crate::producer::ProducerError) -> Self {
        use crate::producer::ProducerError as P;
        match e {
            P::TemplateNotFound(code) => ApiError::unprocessable(
                "template_not_found",
                format!("template '{code}' does not exist"),
            ),
            P::Render { .. } => ApiError::unprocessable("template_render_failed", e.to_string()),
            P::Content(m) => ApiError::unprocessable("invalid_field", m),
            P::Store(s) => s.into(),
        }
    }
}
