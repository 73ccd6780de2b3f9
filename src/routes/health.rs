//! Liveness, readiness (a components health document) and Prometheus metrics.

use super::AppState;
use crate::stats::StatsSnapshot;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, description = "{\"status\":\"ok\"}")))]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub service: &'static str,
    pub version: &'static str,
    /// `healthy`, `degraded`, `unhealthy`, or `draining` (shutting down).
    pub status: &'static str,
    /// Each component's state, e.g. `{"database": "connected"}`.
    pub components: BTreeMap<&'static str, String>,
    pub realtime: RealtimeStats,
    /// Each delivery channel's circuit: `closed`, `open` or `half_open`.
    pub circuit_breakers: BTreeMap<String, &'static str>,
    #[serde(flatten)]
    pub counters: StatsSnapshot,
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
        if db_up {
            format!("connected ({backend})")
        } else {
            format!("unreachable ({backend})")
        },
    );
    components.insert("realtime_bus", "in-process".to_string());
    components.extend(state.sources.describe());
    let hub = state.hub.stats().await;
    // shutdown slice: a draining node answers 503 so load balancers stop routing to it.
    let draining = state.draining.is_draining();
    let body = Readiness {
        service: "herald",
        version: env!("CARGO_PKG_VERSION"),
        // A broker outage degrades ingestion but the API still serves: 200, and it shows.
        status: if draining {
            "draining"
        } else if !db_up {
            "unhealthy"
        } else if state.sources.is_down() {
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
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
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
