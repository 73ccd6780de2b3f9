//! What the SQLite per-event catalog check costs (see BENCHMARKS.md,
//! "Catalog convergence"). Not a test: a timing loop, run with
//! `cargo bench --bench catalog_check` (`-- --events N --reads N` to size it).
//!
//! 1. The check alone: reading the `catalog_version` row, and a full reload
//!    (what reloading before every event would cost instead).
//! 2. The check in place: a real server on a SQLite file, events posted one
//!    at a time over HTTP, with the check before every event
//!    (`check_interval_ms = 0`, the default) and with it effectively off.

use herald::config::Settings;
use herald::persistence::{self, catalog_version};
use herald::pipeline::{Catalog, CatalogSettings};
use herald::startup::Application;
use secrecy::SecretString;
use serde_json::json;
use std::time::{Duration, Instant};

/// The check runs at most once an hour: effectively never during a run.
const CHECK_OFF_MS: u64 = 3_600_000;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn per_op(total: Duration, n: usize) -> String {
    format!("{:.1} µs", total.as_secs_f64() * 1e6 / n.max(1) as f64)
}

async fn micro(url: &str, reads: usize) -> anyhow::Result<()> {
    let db = persistence::connect(url).await?;
    let pack: serde_json::Value =
        serde_json::from_str(include_str!("../examples/movie-booking/pack.json"))?;
    herald::packs::import(&db, &pack).await?;
    let catalog = Catalog::new(db.clone(), 256 * 1024, &CatalogSettings::default());
    catalog.reload().await?;
    let start = Instant::now();
    for _ in 0..reads {
        catalog_version::current(&db).await?;
    }
    println!(
        "  version row read:          {}",
        per_op(start.elapsed(), reads)
    );
    if url.starts_with("sqlite:") {
        let start = Instant::now();
        for _ in 0..reads {
            catalog.check_before_event().await;
        }
        println!(
            "  check before an event (no change): {}",
            per_op(start.elapsed(), reads)
        );
    }
    let reloads = (reads / 20).max(1);
    let start = Instant::now();
    for _ in 0..reloads {
        catalog.reload().await?;
    }
    println!(
        "  full reload (movie pack):  {}",
        per_op(start.elapsed(), reloads)
    );
    Ok(())
}

/// Events per second posted one at a time to a server whose check runs every `check_ms`.
async fn macro_run(check_ms: u64, events: usize) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let mut s = Settings::defaults()?;
    s.bind = "127.0.0.1:0".into();
    s.data_dir = dir.path().to_path_buf();
    s.database_url = Some(SecretString::from(format!(
        "sqlite://{}/herald.db",
        dir.path().display()
    )));
    s.admin_api_key = Some(SecretString::from("bench-admin-key".to_string()));
    s.jwt_secret = Some(SecretString::from(
        "bench-jwt-secret-0123456789abcdef0123456789".to_string(),
    ));
    s.first_run_banner = false;
    s.http.workers = Some(2);
    s.catalog.check_interval_ms = check_ms;
    let app = Application::build(s).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    actix_web::rt::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        http.post(format!("{base}{path}"))
            .bearer_auth("bench-admin-key")
            .json(&body)
            .send()
    };
    post(
        "/api/v1/templates",
        json!({"code": "b", "in_app": {"title": "t"}}),
    )
    .await?;
    post(
        "/api/v1/rules",
        json!({"name": "b", "event_pattern": "bench.*", "channels": ["in_app"], "template_code": "b"}),
    )
    .await?;
    // Warm-up: connections, statement caches.
    for i in 0..100 {
        post(
            "/api/v1/events",
            json!({"event_id": format!("w{i}"), "event_type": "bench.e", "user_id": "u"}),
        )
        .await?;
    }
    let start = Instant::now();
    for i in 0..events {
        let res = post("/api/v1/events", json!({"event_id": format!("e{i}"), "event_type": "bench.e", "user_id": format!("u{}", i % 50)})).await?;
        anyhow::ensure!(res.status() == 202, "event refused: {}", res.status());
    }
    Ok(start.elapsed())
}

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (reads, events) = (arg("--reads", 20_000), arg("--events", 2_000));
    actix_web::rt::System::new().block_on(async move {
        let dir = tempfile::tempdir()?;
        println!("SQLite file, {reads} reads:");
        micro(&format!("sqlite://{}/bench.db", dir.path().display()), reads).await?;
        if let Ok(url) = std::env::var("HERALD_BENCH_POSTGRES_URL") {
            println!("PostgreSQL ({url}), {reads} reads:");
            micro(&url, reads).await?;
        }
        println!("{events} events over HTTP, one at a time, SQLite:");
        for round in 0..2 {
            let on = macro_run(0, events).await?;
            let off = macro_run(CHECK_OFF_MS, events).await?;
            println!(
                "  round {round}: check every event {} per event, check off {} per event, difference {}",
                per_op(on, events),
                per_op(off, events),
                per_op(on.saturating_sub(off), events)
            );
        }
        Ok(())
    })
}
