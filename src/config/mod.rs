//! Settings: built-in defaults, then an optional `herald.toml` (or the file
//! named by `HERALD_CONFIG`), then `HERALD_*` environment variables.
//! Nested keys use a double underscore: `HERALD_WS__HEARTBEAT_INTERVAL_SECS`.

use secrecy::SecretString;
use serde::Deserialize;
use std::path::PathBuf;

mod sections;

pub use sections::{HttpSettings, RateLimitSettings, WsSettings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration could not be loaded: {0}")]
    Load(#[from] config::ConfigError),
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// host:port to listen on; port 0 picks a free port.
    pub bind: String,
    /// `sqlite://…` or `postgres://…`; defaults to a SQLite file in `data_dir`.
    pub database_url: Option<SecretString>,
    /// Most PostgreSQL connections this node's pool opens (`HERALD_DATABASE_MAX_CONNECTIONS`).
    pub database_max_connections: u32,
    pub data_dir: PathBuf,
    /// An admin API key accepted as is (bootstrap for tests and first runs).
    pub admin_api_key: Option<SecretString>,
    /// HS256 secret for user tokens; generated and persisted in `data_dir` when unset.
    pub jwt_secret: Option<SecretString>,
    /// PEM public key (inline) accepted for RS256 user tokens issued elsewhere.
    pub jwt_rs256_public_key: Option<String>,
    /// Path to a PEM public key file, as an alternative to the inline key.
    pub jwt_rs256_public_key_file: Option<PathBuf>,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    /// Lifetime of tokens minted by Herald.
    pub jwt_ttl_secs: u64,
    pub log: String,
    pub log_format: LogFormat,
    /// Base URL clients reach this server at (links, README examples).
    pub public_url: Option<String>,
    /// Where the browser SDK and demo inbox are served from.
    pub static_dir: PathBuf,
    /// Print the admin key and a demo token when first run creates them.
    pub first_run_banner: bool,
    pub http: HttpSettings,
    pub ws: WsSettings,
    /// Request rate limits per user token and per API key (`HERALD_RATE_LIMIT__*`).
    pub rate_limit: RateLimitSettings,
    /// RabbitMQ, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`; unset means no consumer.
    pub amqp_url: Option<SecretString>,
    pub amqp_exchange: String,
    /// `queue=key1,key2;queue2=key3`.
    pub amqp_queues: String,
    pub amqp_prefetch: u16,
    /// Transient failures before a message is dead-lettered.
    pub amqp_max_redeliveries: u32,
    /// Redis, e.g. `redis://127.0.0.1:6379`: fast idempotency, and the sources below.
    pub redis_url: Option<SecretString>,
    /// Pub/sub channels to consume, comma-separated.
    pub redis_channels: String,
    /// Streams to read with the `herald` consumer group, comma-separated.
    pub redis_streams: String,
    /// Stream entries pending this long on another consumer are claimed (XAUTOCLAIM).
    pub redis_claim_idle_ms: u64,
    /// Transient failures of one stream entry before it is dead-lettered and acknowledged.
    pub redis_max_deliveries: u32,
    // Realtime bus and presence across nodes (`src/bus/`).
    /// `memory` (one node) or `redis` (frames between nodes over `redis_url`).
    pub bus: crate::bus::BusKind,
    /// This node's id on the bus and in presence; hostname plus a random suffix when unset.
    pub node_id: Option<String>,
    /// Redis channels frames are spread over; every node subscribes to all of them.
    pub bus_shards: u16,
    /// Prefix of the bus's Redis channels and presence keys.
    pub bus_channel_prefix: String,
    /// Frames queued for Redis before new ones are dropped (other nodes catch up by seq).
    pub bus_publish_queue: usize,
    /// A node's presence entry lives this long after its last heartbeat (refreshed every third of it).
    pub presence_ttl_secs: u64,
    /// How long a user's presence record, and so `last_seen`, is kept after the last heartbeat.
    pub presence_last_seen_secs: u64,
    /// `smtp://user:pass@host:587?tls=starttls|implicit|none`; unset writes `.eml` files to `data_dir/outbox`.
    pub smtp_url: Option<SecretString>,
    /// A second SMTP relay, used when the primary fails or its circuit is open.
    pub smtp_fallback_url: Option<SecretString>,
    /// The From header, e.g. `Movie Tickets <notifications@example.com>`.
    pub email_from: String,
    /// Twilio-compatible Messages API: base URL, account SID, auth token, sender (number or MG… service).
    pub twilio_base_url: String,
    pub twilio_account_sid: Option<String>,
    pub twilio_auth_token: Option<SecretString>,
    pub twilio_from: Option<String>,
    /// FCM HTTP v1: the Firebase service-account JSON (inline), and the API base URL.
    pub fcm_service_account_json: Option<SecretString>,
    pub fcm_base_url: String,
    /// APNs token auth: the .p8 key (PEM text), its key id, the team id, the app's bundle id (topic).
    pub apns_key_pem: Option<SecretString>,
    pub apns_key_id: Option<String>,
    pub apns_team_id: Option<String>,
    pub apns_topic: Option<String>,
    /// APNs certificate auth, instead of a .p8 key: the client certificate and its key (PEM).
    pub apns_cert_pem: Option<SecretString>,
    pub apns_cert_key_pem: Option<SecretString>,
    /// Use Apple's development endpoint.
    pub apns_sandbox: bool,
    /// Most push notifications per user per hour; beyond it they are dropped with a recorded reason. 0 = no limit.
    pub push_per_user_per_hour: u64,
    /// Tries per delivery before it is dead.
    pub delivery_max_attempts: i32,
    /// First retry delay; doubles per attempt, with jitter.
    pub delivery_retry_base_ms: u64,
    /// Sends in flight per channel.
    pub delivery_concurrency: usize,
    /// Consecutive retryable failures that open a provider's circuit.
    pub delivery_breaker_threshold: u32,
    /// How long an open circuit defers sends before one probe.
    pub delivery_breaker_cooldown_ms: u64,
    /// How long a claim holds a delivery; renewed while its send is in flight.
    /// After a crash, an in-flight send is retried once this runs out.
    pub delivery_lease_secs: u64,
    /// The longest one provider call may take; beyond it the attempt is a retryable failure.
    pub delivery_send_timeout_secs: u64,
    /// SendGrid Event Webhook verification key (base64 DER, from SendGrid's settings).
    pub sendgrid_webhook_public_key: Option<String>,
    /// Extra origins (scheme, host, port) trusted for SNS certificates besides `sns.<region>.amazonaws.com`; http only for loopback.
    pub sns_cert_url_prefixes: String,
    /// Shared secret for `POST /api/v1/callbacks/generic` (HMAC-SHA256 of `{timestamp}.{body}`).
    pub callback_secret: Option<SecretString>,
    /// Comma-separated SNS topic ARNs whose messages (and subscription confirmations) are accepted;
    /// empty refuses every SNS message.
    pub sns_topic_arns: String,
    /// Signed callbacks (SendGrid, SNS, generic HMAC) older or further in the future than this are refused as replays.
    pub callback_max_age_secs: u64,
    /// Let webhooks reach loopback, private and link-local addresses (tests, private networks).
    pub webhook_allow_private: bool,
    /// Most bytes of a webhook response body read and kept as the delivery's excerpt.
    pub webhook_max_response_bytes: usize,
    /// Web Push: the VAPID private key (base64url, 32 bytes); generated into `data_dir` when unset.
    /// Nodes sharing a database must all set the same one.
    #[serde(default)]
    pub vapid_private_key: Option<SecretString>,
    /// The VAPID contact push services see (`mailto:` or `https:`); defaults from `public_url`.
    #[serde(default)]
    pub vapid_subject: Option<String>,
    /// Let Web Push subscriptions name private addresses and plain-http endpoints (tests only).
    #[serde(default)]
    pub web_push_allow_private: bool,
    /// Largest output of one template render; a longer render fails.
    pub template_max_output_bytes: usize,
    /// Slack Web API base for bot-mode sends (`{base}/api/chat.postMessage`).
    pub slack_api_base_url: String,
    /// Slack bot token (`xoxb-…`), needed only for channel-id destinations.
    pub slack_bot_token: Option<SecretString>,
    /// Accept `http://` chat webhook URLs (local stand-ins); otherwise https only.
    pub chat_allow_http: bool,
    /// Most bytes of a Slack, Discord or Teams answer read.
    pub chat_max_response_bytes: usize,
    /// The longest one Slack, Discord or Teams call may take.
    pub chat_timeout_secs: u64,
    /// How long finished deliveries are kept (`HERALD_RETENTION__DELIVERY_DAYS`).
    #[serde(default)]
    pub retention: crate::retention::RetentionSettings,
    /// Inbox limits: snooze horizon and scheduler batch (`HERALD_INBOX__*`).
    #[serde(default)]
    pub inbox: crate::feed::InboxSettings,
    /// Seconds from SIGTERM or SIGINT to exit, the whole drain included
    /// (`HERALD_SHUTDOWN_DEADLINE_SECS`); 1 to 3600.
    #[serde(default = "crate::shutdown::default_deadline_secs")]
    pub shutdown_deadline_secs: u64,
    /// How rule, template and webhook changes reach every node (`HERALD_CATALOG__*`).
    #[serde(default)]
    pub catalog: crate::pipeline::CatalogSettings,
    /// Scheduled sends: horizon, batch, lease (`HERALD_SCHEDULE__*`).
    #[serde(default)]
    pub schedule: crate::schedule::ScheduleSettings,
    /// Digest limits and the flush loop (`HERALD_DIGEST__*`).
    #[serde(default)]
    pub digest: crate::digest::DigestSettings,
    /// OTLP/HTTP collector spans are exported to (`HERALD_OTEL_ENDPOINT`); unset exports nothing.
    #[serde(default)]
    pub otel_endpoint: Option<String>,
    /// `service.name` of exported spans (`HERALD_OTEL_SERVICE_NAME`).
    #[serde(default = "crate::trace::default_service_name")]
    pub otel_service_name: String,
    /// Milliseconds between exports of queued spans (`HERALD_OTEL_EXPORT_INTERVAL_MS`).
    #[serde(default = "crate::trace::default_export_interval_ms")]
    pub otel_export_interval_ms: u64,
    /// Topic fan-out batch, lease and request limits (`HERALD_TOPICS__*`).
    #[serde(default)]
    pub topics: crate::topics::TopicSettings,
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("HERALD_CONFIG").unwrap_or_else(|_| "herald.toml".into());
        Self::from_builder(
            config::Config::builder()
                .add_source(config::File::with_name(&file).required(false))
                .add_source(
                    config::Environment::with_prefix("HERALD")
                        .prefix_separator("_")
                        .separator("__")
                        // Values stay text until a field asks for a number: a sender like
                        // `+15550001111` must not become the integer 15550001111.
                        .try_parsing(false),
                ),
        )
    }

    /// Defaults only (tests start from here and override fields).
    pub fn defaults() -> Result<Self, ConfigError> {
        Self::from_builder(config::Config::builder())
    }

    /// Defaults plus exactly these `HERALD_*` variables, no file: `herald doctor`
    /// loads each variable alone to name every invalid one.
    pub fn from_vars(vars: std::collections::HashMap<String, String>) -> Result<Self, ConfigError> {
        Self::from_builder(
            config::Config::builder().add_source(
                config::Environment::with_prefix("HERALD")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(false)
                    .source(Some(vars)),
            ),
        )
    }

    fn from_builder(
        builder: config::ConfigBuilder<config::builder::DefaultState>,
    ) -> Result<Self, ConfigError> {
        let s: Settings = builder
            .set_default("bind", "127.0.0.1:8080")?
            .set_default("data_dir", "./data")?
            .set_default("jwt_ttl_secs", 86_400)?
            .set_default("database_max_connections", 32)?
            .set_default("log", "info")?
            .set_default("log_format", "pretty")?
            .set_default("first_run_banner", true)?
            .set_default("static_dir", "static")?
            .set_default("http.max_body_bytes", 256 * 1024)?
            .set_default("ws.heartbeat_interval_secs", 10)?
            .set_default("ws.client_timeout_secs", 30)?
            .set_default("ws.outbound_queue", 256)?
            .set_default("ws.send_timeout_ms", 10_000)?
            .set_default("ws.max_frame_bytes", 64 * 1024)?
            .set_default("ws.hub_shards", 16)?
            .set_default("ws.max_replay", 1000)?
            .set_default("ws.commands_in_flight", 8)?
            .set_default("ws.frames_per_sec", 20)?
            .set_default("ws.frames_burst", 100)?
            .set_default("ws.max_sessions_per_user", 100)?
            .set_default("ws.max_connections_per_ip", 1000)?
            .set_default("rate_limit.user_per_sec", 20)?
            .set_default("rate_limit.user_burst", 100)?
            .set_default("rate_limit.api_key_per_sec", 0)?
            .set_default("rate_limit.api_key_burst", 1000)?
            .set_default("rate_limit.test_per_user_per_hour", 20)?
            .set_default("redis_max_deliveries", 5)?
            .set_default("bus", "memory")?
            .set_default("bus_shards", 16)?
            .set_default("bus_channel_prefix", "herald")?
            .set_default("bus_publish_queue", 65_536)?
            .set_default("presence_ttl_secs", 30)?
            .set_default("presence_last_seen_secs", 86_400)?
            .set_default("sns_topic_arns", "")?
            .set_default("callback_max_age_secs", 300)?
            .set_default("webhook_max_response_bytes", 4096)?
            .set_default("template_max_output_bytes", 256 * 1024)?
            .set_default("amqp_exchange", "herald.events")?
            .set_default("amqp_queues", "herald.events=#")?
            .set_default("amqp_prefetch", 256)?
            .set_default("amqp_max_redeliveries", 5)?
            .set_default("redis_channels", "")?
            .set_default("redis_streams", "")?
            .set_default("redis_claim_idle_ms", 30_000)?
            .set_default("email_from", "Herald <herald@localhost>")?
            .set_default("twilio_base_url", "https://api.twilio.com")?
            .set_default("delivery_max_attempts", 8)?
            .set_default("fcm_base_url", "https://fcm.googleapis.com")?
            .set_default("apns_sandbox", false)?
            .set_default("push_per_user_per_hour", 0)?
            .set_default("sns_cert_url_prefixes", "")?
            .set_default("delivery_retry_base_ms", 5_000)?
            .set_default("delivery_concurrency", 32)?
            .set_default("webhook_allow_private", false)?
            .set_default("slack_api_base_url", "https://slack.com")?
            .set_default("chat_allow_http", false)?
            .set_default("chat_max_response_bytes", 4096)?
            .set_default("chat_timeout_secs", 10)?
            .set_default("delivery_breaker_threshold", 5)?
            .set_default("delivery_breaker_cooldown_ms", 30_000)?
            .set_default("delivery_lease_secs", 30)?
            .set_default("delivery_send_timeout_secs", 60)?
            .build()?
            .try_deserialize()?;
        s.check()?;
        Ok(s)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.into(),
            })
        };
        if self.ws.hub_shards == 0 {
            return bad("ws.hub_shards", "must be at least 1");
        }
        if !(1..=3600).contains(&self.delivery_lease_secs) {
            return bad("delivery_lease_secs", "must be 1 to 3600 seconds");
        }
        if self.delivery_send_timeout_secs == 0 {
            return bad("delivery_send_timeout_secs", "must be at least 1");
        }
        if self.ws.commands_in_flight == 0 {
            return bad("ws.commands_in_flight", "must be at least 1");
        }
        if self.ws.frames_per_sec == 0 || self.ws.frames_burst == 0 {
            return bad("ws.frames_per_sec", "the rate and burst must be at least 1");
        }
        if self.ws.max_sessions_per_user == 0 || self.ws.max_connections_per_ip == 0 {
            return bad(
                "ws.max_sessions_per_user",
                "session and connection caps must be at least 1",
            );
        }
        if self.rate_limit.user_per_sec > 0 && self.rate_limit.user_burst == 0 {
            return bad(
                "rate_limit.user_burst",
                "must be at least 1 when user_per_sec is set",
            );
        }
        if self.rate_limit.api_key_per_sec > 0 && self.rate_limit.api_key_burst == 0 {
            return bad(
                "rate_limit.api_key_burst",
                "must be at least 1 when api_key_per_sec is set",
            );
        }
        if self.template_max_output_bytes == 0 || self.webhook_max_response_bytes == 0 {
            return bad(
                "template_max_output_bytes",
                "output and excerpt caps must be at least 1",
            );
        }
        if self.chat_max_response_bytes == 0 || self.chat_timeout_secs == 0 {
            return bad(
                "chat_max_response_bytes",
                "the chat answer cap and timeout must be at least 1",
            );
        }
        if self.ws.outbound_queue == 0 {
            return bad("ws.outbound_queue", "must be at least 1");
        }
        if let Err(e) = crate::sources::parse_queues(&self.amqp_queues) {
            return Err(ConfigError::Invalid {
                key: "amqp_queues",
                reason: e,
            });
        }
        if self.catalog.reload_interval_secs == 0 {
            return bad("catalog.reload_interval_secs", "must be at least 1");
        }
        if let Some((key, reason)) = self.topics.problem() {
            return bad(key, reason);
        }
        if self.ws.client_timeout_secs <= self.ws.heartbeat_interval_secs {
            return bad(
                "ws.client_timeout_secs",
                "must exceed ws.heartbeat_interval_secs",
            );
        }
        Ok(())
    }

    /// The database URL, defaulting to `sqlite://<data_dir>/herald.db`.
    pub fn database_url(&self) -> String {
        use secrecy::ExposeSecret;
        match &self.database_url {
            Some(url) => url.expose_secret().to_string(),
            None => format!("sqlite://{}/herald.db", self.data_dir.display()),
        }
    }
}
