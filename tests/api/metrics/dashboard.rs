//! `deploy/grafana/herald.json` queries only series a real scrape declares,
//! once the app has done one of everything the dashboard charts.

use super::{app_with_smtp, scrape, send_with_email};
use crate::events::post_event;
use crate::helpers::{wait_for, Backend, TestApp};
use crate::on_both;
use crate::stubs::SmtpServer;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const DASHBOARD: &str = include_str!("../../../deploy/grafana/herald.json");

/// Every `expr` in the dashboard, rows' nested panels included.
fn expressions(panel: &Value, out: &mut Vec<String>) {
    for t in panel["targets"].as_array().into_iter().flatten() {
        if let Some(e) = t["expr"].as_str() {
            out.push(e.to_string());
        }
    }
    for p in panel["panels"].as_array().into_iter().flatten() {
        expressions(p, out);
    }
}

/// The `herald_…` metric names an expression reads.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("herald_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

/// Whether the scrape has `name`: a family itself, or a histogram's or counter's sample.
fn declared(families: &BTreeSet<(String, String)>, name: &str) -> bool {
    let has = |n: &str, kind: &str| families.contains(&(n.to_string(), kind.to_string()));
    let suffixed = |suffix: &str, kind: &str| {
        name.strip_suffix(suffix)
            .is_some_and(|base| has(base, kind))
    };
    has(name, "gauge")
        || suffixed("_total", "counter")
        || ["_bucket", "_count", "_sum"]
            .iter()
            .any(|s| suffixed(s, "histogram"))
}

/// One of everything the dashboard charts: a capped WebSocket and its refusal,
/// an email send, an event, a callback for no delivery, and a close.
async fn make_every_series_move(app: &TestApp, smtp: &SmtpServer) {
    let token = app.token("dash").await;
    let (mut ws, _) = app.ws(&token, None).await;
    assert!(tokio_tungstenite::connect_async(app.ws_url(&token, None))
        .await
        .is_err());
    send_with_email(app, "dash", &["in_app", "email"]).await;
    let event = json!({"event_id": "dash-1", "event_type": "nobody.listens", "user_id": "dash"});
    post_event(app, &event).await;
    let res = app
        .client
        .post(app.url("/api/v1/callbacks/nobody"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    ws.close(None).await.unwrap();
    wait_for("the email and the close", 10, || async {
        let s = scrape(app).await;
        !smtp.messages.lock().unwrap().is_empty()
            && s.value("herald_deliveries_total", &[]) > 0.0
            && s.value("herald_ws_disconnects_total", &[]) > 0.0
    })
    .await;
}

async fn every_metric_the_grafana_dashboard_queries_is_in_a_real_scrape(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp, |s| s.ws.max_sessions_per_user = 1).await else {
        return;
    };
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut exprs = vec![];
    expressions(&dashboard, &mut exprs);
    let names: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert!(
        names.len() >= 15,
        "the dashboard reads the series: {names:?}"
    );
    make_every_series_move(&app, &smtp).await;
    let families = scrape(&app).await.families();
    let missing: Vec<_> = names.iter().filter(|n| !declared(&families, n)).collect();
    assert!(
        missing.is_empty(),
        "not in /metrics: {missing:?}; it has {families:?}"
    );
}

on_both!(every_metric_the_grafana_dashboard_queries_is_in_a_real_scrape);
