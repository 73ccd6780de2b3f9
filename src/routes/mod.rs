//! HTTP and WebSocket routes. Handlers parse input into domain types, call
//! the feed or persistence, and map errors through [`ApiError`].

mod asyncapi;
mod bodies;
mod callbacks;
mod chat;
mod cloudevents;
mod deliveries;
mod devices;
mod endpoint;
mod error;
mod events;
mod feed;
mod health;
mod inbox;
mod input;
mod openapi;
mod preference_history;
mod preferences;
mod presence;
mod ratelimit;
mod rules;
mod scheduled;
mod sdk;
mod send;
mod sse;
mod templates;
mod topic_sends;
mod topics;
mod users;
mod web_push;
mod webhooks;
mod ws;

pub use error::{ApiError, ErrorBody, ErrorDetail};
pub(crate) use input::{Body, Segment};
pub use openapi::ApiDoc;
pub use ratelimit::enforce as enforce_rate_limits;

use endpoint::Endpoint;

use crate::domain::UserId;
use crate::feed::Feed;
use crate::realtime::{Hub, SessionDeps};
use crate::stats::Stats;
use actix_web::{error::JsonPayloadError, web, HttpRequest};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Shared state handed to handlers by startup.
pub struct AppState {
    pub db: DatabaseConnection,
    pub feed: Arc<Feed>,
    pub pipeline: Arc<crate::pipeline::Pipeline>,
    pub sources: Arc<crate::sources::SourceHealth>,
    pub unsubscribe: crate::channels::email::UnsubscribeSigner,
    pub webhook_allow_private: bool,
    /// Accept `http://` chat webhook URLs (`HERALD_CHAT_ALLOW_HTTP`).
    pub chat_allow_http: bool,
    pub due: crate::bus::DueSignal,
    pub breakers: crate::channels::breaker::Breakers,
    pub public_url: Option<String>,
    pub twilio_auth_token: Option<secrecy::SecretString>,
    pub callback_secret: Option<secrecy::SecretString>,
    pub sendgrid_public_key: Option<String>,
    /// Replay window, seen signatures and the SNS gate shared by signed callbacks.
    pub callback_guard: Arc<crate::channels::callbacks::CallbackGuard>,
    pub http: reqwest::Client,
    pub hub: Hub,
    /// The realtime bus's health, presence and this node's id.
    pub bus: crate::bus::BusHandles,
    pub sessions: Arc<SessionDeps>,
    pub stats: Arc<Stats>,
    pub jwt_ttl_secs: u64,
    pub max_frame_bytes: usize,
    /// Set when a drain starts: `/ready` answers 503 from then on.
    pub draining: crate::shutdown::Draining,
    pub web_push: crate::channels::web_push::WebPushRoutes,
    /// Topic request limits and fan-out batch size (`HERALD_TOPICS__*`).
    pub topics: crate::topics::TopicSettings,
    /// Wakes this node's fan-out runner after a topic send is recorded.
    pub fanout_wake: crate::topics::FanoutWake,
    /// Scheduled and delayed sends (`send_at`, `delay`).
    pub schedule: crate::schedule::Schedules,
}

/// Parses a `{user_id}` path segment.
pub(crate) fn path_user(raw: &str) -> Result<UserId, ApiError> {
    Ok(UserId::parse(raw)?)
}

/// Parses a UUID path segment, or answers 422 with `code` and `message`.
pub(crate) fn parse_uuid(
    raw: &str,
    code: &'static str,
    message: &'static str,
) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(raw).map_err(|_| ApiError::unprocessable(code, message))
}

fn json_error(err: JsonPayloadError, _: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                err.to_string(),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::unprocessable("invalid_body", e.to_string())
        }
        _ => ApiError::bad_request("invalid_json", err.to_string()),
    };
    api.into()
}

fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    ApiError::bad_request("invalid_query", err.to_string()).into()
}

async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::not_found("route"))
}

/// Registers every route. Specific paths come before `{id}` paths, because
/// a matching path with the wrong method answers 405 instead of falling through.
pub fn configure(max_body_bytes: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(
            web::JsonConfig::default()
                .limit(max_body_bytes)
                .error_handler(json_error),
        )
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(input::path_error))
        .service(Endpoint::new("/health").get(health::health))
        .service(Endpoint::new("/ready").get(health::ready))
        .service(Endpoint::new("/metrics").get(health::metrics))
        .service(openapi::swagger())
        .service(web::redirect("/api/v1/docs", "/api/v1/docs/").permanent())
        .service(Endpoint::new("/api/v1/asyncapi.json").get(asyncapi::serve))
        .service(
            web::scope("/api/v1")
                .service(Endpoint::new("/ws").get(ws::connect))
                .service(Endpoint::new("/sse").get(sse::stream))
                .service(Endpoint::new("/send").post(send::send))
                .configure(users::configure)
                .configure(presence::configure)
                .configure(feed::configure)
                .configure(preference_history::configure)
                .configure(preferences::configure)
                .configure(topics::configure)
                .configure(devices::configure)
                .configure(chat::configure)
                .configure(templates::configure)
                .configure(rules::configure)
                .configure(events::configure)
                .configure(deliveries::configure)
                .configure(webhooks::configure)
                .configure(callbacks::configure)
                .configure(scheduled::configure)
                .configure(web_push::configure),
        );
    }
}

/// The browser SDK under `/static/` and the demo inbox at `/`, then a JSON 404 for anything else.
pub fn static_files(dir: std::path::PathBuf) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.configure(sdk::configure);
        if dir.is_dir() {
            let index = dir.join("index.html");
            cfg.service(actix_files::Files::new("/static", &dir)).route(
                "/",
                web::get().to(move || {
                    let index = index.clone();
                    async move { actix_files::NamedFile::open_async(index).await }
                }),
            );
        }
        cfg.default_service(web::to(not_found));
    }
}
