//! Prometheus metrics through `prometheus-client`: every series, its labels,
//! and the one-line recording calls the rest of the code makes.
//!
//! Why a registry per app and not the `metrics` facade: the facade records
//! into one process-wide recorder, so two apps in one process (the tests run
//! dozens) would add into each other's numbers. Each [`Metrics`] owns its own
//! [`Registry`]; startup makes one per app (inside [`crate::stats::Stats`]) and
//! hands clones to whoever records. Cloning shares the series.
//!
//! Labels are bounded: channels, providers, sources, limiter names, route
//! templates, status classes and close codes, never a user id or a raw path.

mod events;
pub mod http;
mod scrape;
mod series;

pub use events::EventOutcome;
pub use scrape::{OutboxCache, Snapshot, OUTBOX_CACHE_TTL};

use crate::persistence::deliveries::Settle;
use crate::realtime::LimitError;
use events::source_kind;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use series::*;
use std::sync::Arc;
use std::time::Duration;

/// What `/metrics` answers with: Prometheus reads OpenMetrics text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets in seconds: 1 ms doubling to about 33 s, covering a local
/// commit as well as a slow provider's timeout.
const LATENCY_START_SECS: f64 = 0.001;
const LATENCY_FACTOR: f64 = 2.0;
const LATENCY_BUCKETS: u16 = 16;

fn latency() -> Histogram {
    Histogram::new(exponential_buckets(
        LATENCY_START_SECS,
        LATENCY_FACTOR,
        LATENCY_BUCKETS,
    ))
}

type Latencies<L> = Family<L, Histogram, fn() -> Histogram>;

fn latencies<L: Clone + std::hash::Hash + Eq>() -> Latencies<L> {
    Family::new_with_constructor(latency)
}

/// Every series of one app. Clones share them.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub(crate) notifications: NotificationCounters,
    accept_to_commit: Histogram,
    commit_to_frame: Histogram,
    provider_call: Latencies<ProviderLabels>,
    http_request: Latencies<HttpLabels>,
    events: Family<EventLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    ws_connects: Counter,
    ws_disconnects: Family<CloseLabels, Counter>,
    callbacks: Family<CallbackLabels, Counter>,
    refusals: Family<LimiterLabels, Counter>,
    gauges: scrape::Gauges,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut r = Registry::default();
        let m = Self {
            registry: Arc::default(),
            notifications: NotificationCounters::default(),
            accept_to_commit: latency(),
            commit_to_frame: latency(),
            provider_call: latencies(),
            http_request: latencies(),
            events: Family::default(),
            deliveries: Family::default(),
            ws_connects: Counter::default(),
            ws_disconnects: Family::default(),
            callbacks: Family::default(),
            refusals: Family::default(),
            gauges: scrape::Gauges::default(),
        };
        r.register(
            "herald_accept_to_commit_seconds",
            "From a send or event being accepted to its unit committed (the producer).",
            m.accept_to_commit.clone(),
        );
        r.register(
            "herald_commit_to_frame_seconds",
            "From a notification's commit to its frame written to a WebSocket on this node.",
            m.commit_to_frame.clone(),
        );
        r.register(
            "herald_provider_call_seconds",
            "One provider call, by channel and provider.",
            m.provider_call.clone(),
        );
        r.register(
            "herald_http_request_seconds",
            "HTTP requests by route template, method and status class.",
            m.http_request.clone(),
        );
        r.register(
            "herald_events",
            "Events by source and outcome.",
            m.events.clone(),
        );
        r.register(
            "herald_deliveries",
            "Delivery outcomes recorded by the channel actors, by channel and status.",
            m.deliveries.clone(),
        );
        r.register(
            "herald_ws_connects",
            "WebSocket sessions opened on this node.",
            m.ws_connects.clone(),
        );
        r.register(
            "herald_ws_disconnects",
            "WebSocket sessions ended on this node, by close code.",
            m.ws_disconnects.clone(),
        );
        r.register(
            "herald_callbacks",
            "Provider callbacks by provider and result.",
            m.callbacks.clone(),
        );
        r.register(
            "herald_rate_limit_refusals",
            "Requests and connections refused by a rate limit or cap, by limiter.",
            m.refusals.clone(),
        );
        m.notifications.register(&mut r);
        m.gauges.register(&mut r);
        Self {
            registry: Arc::new(r),
            ..m
        }
    }

    /// A unit committed `since` after its send or event was accepted.
    pub fn committed(&self, since: std::time::Instant) {
        self.accept_to_commit.observe(since.elapsed().as_secs_f64());
    }

    /// A live notification frame is being written to a socket: observes how
    /// long ago its notification was committed. The writer stamps `created_at`
    /// with the commit, and the frame carries it across nodes; there the two
    /// nodes' clock skew adds in (a negative age counts as 0).
    pub fn notification_frame(&self, frame: &str) {
        #[derive(serde::Deserialize)]
        struct Frame {
            notification: Stamp,
        }
        #[derive(serde::Deserialize)]
        struct Stamp {
            created_at: chrono::DateTime<chrono::Utc>,
        }
        if let Ok(f) = serde_json::from_str::<Frame>(frame) {
            let ms = (chrono::Utc::now() - f.notification.created_at).num_milliseconds();
            self.commit_to_frame.observe(ms.max(0) as f64 / 1000.0);
        }
    }

    pub fn provider_call(&self, channel: &str, provider: &str, took: Duration) {
        let labels = ProviderLabels {
            channel: channel.to_string(),
            provider: provider.to_string(),
        };
        self.provider_call
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    pub(crate) fn http_request(&self, labels: HttpLabels, took: Duration) {
        self.http_request
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// An event from `source` (e.g. `rest`, `amqp:orders`) ended with `outcome`.
    pub fn event(&self, source: &str, outcome: EventOutcome) {
        let labels = EventLabels {
            source: source_kind(source),
            outcome: outcome.as_str(),
        };
        self.events.get_or_create(&labels).inc();
    }

    /// A channel actor recorded `outcome` for a delivery on `channel`.
    pub fn delivery(&self, channel: &str, outcome: &Settle) {
        let status = match outcome {
            Settle::Sent { .. } => "sent",
            Settle::Retry { .. } => "retry",
            Settle::Failed { .. } => "failed",
            Settle::InvalidToken { .. } => "invalid_token",
            Settle::Suppressed { .. } => "suppressed",
            Settle::Deferred { .. } => "deferred",
        };
        let labels = DeliveryLabels {
            channel: channel.to_string(),
            status,
        };
        self.deliveries.get_or_create(&labels).inc();
    }

    pub fn ws_connected(&self) {
        self.ws_connects.inc();
    }

    /// `code` is the close code this side sent, `None` when the client went away first.
    pub fn ws_disconnected(&self, code: Option<u16>) {
        let code = code.map_or_else(|| "none".to_string(), |c| c.to_string());
        self.ws_disconnects
            .get_or_create(&CloseLabels { code })
            .inc();
    }

    pub fn callback(&self, provider: &'static str, result: &'static str) {
        let labels = CallbackLabels { provider, result };
        self.callbacks.get_or_create(&labels).inc();
    }

    /// A request refused by the HTTP rate limit named `limiter` (`user`, `api_key`).
    pub fn refused(&self, limiter: &'static str) {
        self.refusals
            .get_or_create(&LimiterLabels { limiter })
            .inc();
    }

    /// A WebSocket or SSE connection refused by a connection cap.
    pub fn connection_refused(&self, e: &LimitError) {
        self.refused(match e {
            LimitError::TooManySessions(_) => "sessions_per_user",
            LimitError::TooManyConnections(_) => "connections_per_ip",
        });
    }

    /// Refreshes the gauges computed at scrape time.
    pub async fn refresh(&self, db: &sea_orm::DatabaseConnection, now: Snapshot) {
        self.gauges.refresh(db, now).await;
    }

    /// The OpenMetrics text of every series, gauges as last refreshed.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            // Writing into a String cannot fail; a broken encoder must not take /metrics down.
            tracing::error!(error = %e, "could not encode metrics");
        }
        out
    }
}
