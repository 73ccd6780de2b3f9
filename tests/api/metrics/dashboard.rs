//! `deploy/grafana/herald.json` queries only series a real scrape declares.

use super::scrape;
use crate::helpers::{spawn_app, Backend};
use crate::on_both;
use serde_json::Value;
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
        name.strip_suffix(suffix).is_some_and(|base| has(base, kind))
    };
    has(name, "gauge")
        || suffixed("_total", "counter")
        || ["_bucket", "_count", "_sum"]
            .iter()
            .any(|s| suffixed(s, "histogram"))
}

async fn every_metric_the_grafana_dashboard_queries_is_in_a_real_scrape(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let dashboard: Value = serde_json::from_str(DASHBOARD).expect("the dashboard is JSON");
    let mut exprs = vec![];
    expressions(&dashboard, &mut exprs);
    let names: BTreeSet<String> = exprs.iter().flat_map(|e| metric_names(e)).collect();
    assert!(names.len() >= 15, "the dashboard reads the series: {names:?}");
    let families = scrape(&app).await.families();
    let missing: Vec<_> = names.iter().filter(|n| !declared(&families, n)).collect();
    assert!(missing.is_empty(), "not in /metrics: {missing:?}; it has {families:?}");
}

on_both!(every_metric_the_grafana_dashboard_queries_is_in_a_real_scrape);
