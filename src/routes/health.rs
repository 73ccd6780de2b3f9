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

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let s = state.stats.snapshot();
    let hub = state.hub.stats().await;
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    };
    metric(
        "herald_notifications_processed_total",
        "counter",
        "Notifications stored and published.",
        s.processed_count,
    );
    metric(
        "herald_notifications_suppressed_total",
        "counter",
        "Sends suppressed by preferences.",
        s.suppressed_count,
    );
    metric(
        "herald_notifications_duplicate_total",
        "counter",
        "Sends answered from an earlier request_id.",
        s.duplicate_count,
    );
    metric(
        "herald_notifications_failed_total",
        "counter",
        "Sends that failed to store.",
        s.failed_count,
    );
    metric(
        "herald_ws_sessions",
        "gauge",
        "Open WebSocket sessions on this node.",
        hub.sessions as u64,
    );
    metric(
        "herald_ws_users",
        "gauge",
        "Users with at least one open session on this node.",
        hub.users as u64,
    );
    metric(
        "herald_ws_evicted_total",
        "counter",
        "Sessions closed because their outbound queue overflowed.",
        hub.evicted,
    );
    metric(
        "herald_bus_connected",
        "gauge",
        "Whether this node hears the other nodes' frames (1) or its bus link is degraded (0).",
        u64::from(state.bus.health.state() == LinkState::Connected),
    );
    out.push_str(
        "# HELP herald_circuit_open Whether a delivery channel's circuit is open (1) or not (0).\n",
    );
    out.push_str("# TYPE herald_circuit_open gauge\n");
    for (channel, st) in state.breakers.describe() {
        out.push_str(&format!(
            "herald_circuit_open{{channel=\"{channel}\"}} {}\n",
            u8::from(st != "closed")
        ));
    }
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(out)
}
