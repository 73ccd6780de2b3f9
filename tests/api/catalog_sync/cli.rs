//! `herald import` run as a real process against a running server's
//! database, the periodic reload out of reach. On SQLite (the CLI writes the
//! server's file) the very next event sees the pack; on PostgreSQL the
//! notification brings it within the bound.

use super::{processed_within_bound, publish, titles, without_poll, CONVERGE_SECS};
use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::on_both;
use serde_json::{json, Value};
use std::process::Command;

fn pack(title: &str) -> Value {
    json!({
        "templates": [{"code": "invoice", "in_app": {"title": title}}],
        "rules": [{"name": "invoices", "event_pattern": "invoice.*", "channels": ["in_app"], "template_code": "invoice"}]
    })
}

/// Runs `herald import` on `app`'s database and waits for it to exit successfully.
fn herald_import(app: &TestApp, pack: &Value) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pack.json");
    std::fs::write(&file, pack.to_string()).expect("write pack");
    let out = Command::new(env!("CARGO_BIN_EXE_herald"))
        .current_dir(dir.path())
        .arg("import")
        .arg(&file)
        .env("HERALD_DATABASE_URL", &app.database_url)
        .env("HERALD_DATA_DIR", app.data_dir.path())
        .env("HERALD_LOG", "warn")
        .env("HERALD_FIRST_RUN_BANNER", "false")
        .output()
        .expect("run herald import");
    assert!(
        out.status.success(),
        "herald import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The newest in-app title for `user` after one more event, as soon as the
/// backend guarantees it: the next event on SQLite, within the bound on PostgreSQL.
async fn next_event_renders(app: &TestApp, backend: Backend, user: &str, title: &str) {
    if backend == Backend::Sqlite {
        assert_eq!(publish(app, "invoice.paid", user).await, "processed");
        assert_eq!(
            titles(app, user).await.first().map(String::as_str),
            Some(title)
        );
        return;
    }
    wait_for(&format!("'{title}' to render"), CONVERGE_SECS, || async {
        publish(app, "invoice.paid", user).await == "processed"
            && titles(app, user).await.first().map(String::as_str) == Some(title)
    })
    .await;
}

async fn herald_import_while_the_server_runs_applies_to_the_next_event(backend: Backend) {
    let Some(app) = spawn_app_with(backend, without_poll).await else {
        return;
    };
    assert_eq!(publish(&app, "invoice.paid", "c1").await, "no_match");
    herald_import(&app, &pack("Invoice paid"));
    if backend == Backend::Sqlite {
        assert_eq!(
            publish(&app, "invoice.paid", "c1").await,
            "processed",
            "the event right after the import is routed by the imported rule"
        );
    } else {
        processed_within_bound(&app, "invoice.paid", "c1").await;
    }
    // A changed template in a second import renders from the next event on.
    herald_import(&app, &pack("Invoice paid, thank you"));
    next_event_renders(&app, backend, "c1", "Invoice paid, thank you").await;
}

on_both!(herald_import_while_the_server_runs_applies_to_the_next_event);
