//! Liveness, readiness (a components health document) and Prometheus metrics.

use super::AppState;
use crate::bus::{BusKind, LinkState};
use crate::stats::StatsSnapshot;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = super::bodies::views::Alive)))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub service: &'static str,
    pub version: &'static str,
    /// `healthy`, `degraded` (a broker or the bus between nodes is down; the API still
    /// serves, with 200), `unhealthy` (the database is down; 503) or `draining`
    /// (shutting down; 503).
    pub status: &'static str,
    /// Each component's state, e.g. `{"database": "connected (sqlite)", "realtime_bus":
    /// {"kind": "redis", "state": "connected", "node": "web-1-3fa2c1"}}`.
    pub components: BTreeMap<&'static str, Component>,
    pub realtime: RealtimeStats,
    /// Each delivery channel's circuit: `closed`, `open` or `half_open`.
    pub circuit_breakers: BTreeMap<String, &'static str>,
    #[serde(flatten)]
    pub counters: StatsSnapshot,
}

/// One component: a state in words, or the bus's structured report.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Component {
    Text(String),
    Bus(BusReport),
}

/// `components.realtime_bus`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BusReport {
    pub kind: BusKind,
    /// `degraded` while the pub/sub link to the other nodes is down.
    pub state: LinkState,
    /// This node's id (`HERALD_NODE_ID`).
    pub node: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RealtimeStats {
    pub sessions: usize,
    pub users: usize,
    pub evicted: u64,
}

/// Readiness: 503 when a required component is down.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let db_up = state.db.ping().await.is_ok();
    let backend = crate::persistence::describe(&state.db);
    let mut components = BTreeMap::new();
    components.insert(
        "database",
        Component::Text(if db_up {
            format!("connected ({backend})")
        } else {
            format!("unreachable ({backend})")
        }),
    );
    let bus_state = state.bus.health.state();
    components.insert(
        "realtime_bus",
        Component::Bus(BusReport {
            kind: state.bus.health.kind(),
            state: bus_state,
            node: state.bus.node.to_string(),
        }),
    );
    components.extend(
        state
            .sources
            .describe()
            .into_iter()
            .map(|(k, v)| (k, Component::Text(v))),
    );
    let hub = state.hub.stats().await;
    // shutdown slice: a draining node answers 503 so load balancers stop routing to it.
    let draining = state.draining.is_draining();
    let body = Readiness {
        service: "herald",
        version: env!("CARGO_PKG_VERSION"),
        // A broker or bus outage degrades ingestion or cross-node frames, but the API
        // still serves: 200, and it shows.
        status: if draining {
            "draining"
        } else if !db_up {
            "unhealthy"
        } else if state.sources.is_down() || bus_state == LinkState::Degraded {
            "degraded"
        } else {
            "healthy"
        },
        components,
        realtime: RealtimeStats {
            sessions: hub.sessions,
            users: hub.users,
            evicted: hub.evicted,
        },
        circuit_breakers: state.breakers.describe(),
        counters: state.stats.snapshot(),
    };
    if db_up && !draining {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics, in the OpenMetrics text format (series in the README).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "OpenMetrics text format", body = String, content_type = "application/openmetrics-text")))]
#[tracing::instrument(skip_all)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &state.stats.metrics;
    let snapshot = crate::metrics::Snapshot {
        hub: state.hub.stats().await,
        bus_connected: state.bus.health.state() == LinkState::Connected,
        breakers: state.breakers.describe(),
    };
    metrics.refresh(&state.db, snapshot).await;
    HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(metrics.encode())
}
