//! Snooze: hidden until its time, then back with an `unsnoozed` frame, woken
//! by a scheduler over the stored time, so a restart does not lose it.

use super::{counts, ids, send_with};
use crate::helpers::{
    create_pg_database, drop_pg_database, next_of_type, spawn_app_with, wait_for, Backend, TestApp,
};
use crate::{on_both, on_both_databases};
use herald::config::Settings;
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;

/// Waits (bounded) for a frame of `kind`, reading past others.
async fn within(ws: &mut crate::helpers::Ws, kind: &str, secs: u64) -> serde_json::Value {
    tokio::time::timeout(Duration::from_secs(secs), next_of_type(ws, kind))
        .await
        .unwrap_or_else(|_| panic!("no {kind} frame within {secs} s"))
}

async fn a_snoozed_notification_comes_back_with_an_unsnoozed_frame(app: TestApp) {
    let user = "sleeper";
    let other = send_with(&app, user, json!({})).await;
    let id = send_with(&app, user, json!({"tags": ["later"]})).await;
    let token = app.token(user).await;
    let (mut ws, _) = app.ws(&token, None).await;
    let until = chrono::Utc::now() + chrono::Duration::seconds(2);
    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/snooze"),
            json!({"until": until.to_rfc3339()}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let f = next_of_type(&mut ws, "snoozed").await;
    assert_eq!(f["ids"], json!([id]));
    assert_eq!(
        (f["unread_count"].as_u64(), f["unseen_count"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(f["until"].is_string());
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(ids(&page), vec![other.clone()], "hidden while snoozed");
    assert_eq!(
        counts(&app, &token).await,
        (1, 1),
        "snoozed items count in neither"
    );
    let (_, all) = app
        .get_json(&token, "/api/v1/notifications?status=all")
        .await;
    assert_eq!(ids(&all).len(), 2);

    let f = within(&mut ws, "unsnoozed", 15).await;
    assert_eq!(f["notification"]["id"], json!(id));
    assert_eq!(f["notification"]["tags"], json!(["later"]));
    assert!(f["notification"]["snoozed_until"].is_null());
    assert_eq!(
        (f["unread_count"].as_u64(), f["unseen_count"].as_u64()),
        (Some(2), Some(2))
    );
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(ids(&page), vec![id.clone(), other]);

    // Ending a snooze early sends the same frame.
    let later = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    app.post_json(
        &token,
        &format!("/api/v1/notifications/{id}/snooze"),
        json!({"until": later}),
    )
    .await;
    next_of_type(&mut ws, "snoozed").await;
    let (status, _) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/unsnooze"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let f = next_of_type(&mut ws, "unsnoozed").await;
    assert_eq!(f["notification"]["id"], json!(id));
}

/// Settings for a node the test runs on a thread of its own, so it can be stopped.
pub(crate) fn node_settings(
    database_url: &str,
    dir: &std::path::Path,
    admin_key: &str,
) -> Settings {
    let mut s = Settings::defaults().expect("default settings");
    s.bind = "127.0.0.1:0".into();
    s.data_dir = dir.to_path_buf();
    s.database_url = Some(SecretString::from(database_url.to_string()));
    s.admin_api_key = Some(SecretString::from(admin_key.to_string()));
    s.jwt_secret = Some(SecretString::from(
        "snooze-restart-secret-0123456789".to_string(),
    ));
    s.first_run_banner = false;
    s.http.workers = Some(1);
    s
}

/// Runs a node in its own actix system; returns its port and a handle that stops the whole system.
pub(crate) fn start_node(
    settings: Settings,
) -> (
    u16,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let app = herald::startup::Application::build(settings)
                .await
                .expect("first node builds");
            port_tx.send(app.port()).expect("port");
            actix_web::rt::spawn(app.run_until_stopped());
            let _ = stop_rx.await;
            actix_web::rt::System::current().stop();
        });
    });
    let port = port_rx.recv().expect("first node started");
    (port, stop_tx, thread)
}

/// A database for nodes started one after another: (PostgreSQL name to drop, url);
/// None (said loudly) when PostgreSQL is unreachable.
pub(crate) async fn node_database(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<(Option<String>, String)> {
    Some(match backend {
        Backend::Sqlite => (None, format!("sqlite://{}/herald.db", dir.display())),
        Backend::Postgres => {
            let (name, url) = create_pg_database().await?;
            (Some(name), url)
        }
    })
}

async fn a_snooze_survives_a_restart_on_the_same_database(backend: Backend) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((pg, url)) = node_database(backend, dir.path()).await else {
        return;
    };
    let admin = "snooze-restart-admin";
    let (port, stop, thread) = start_node(node_settings(&url, dir.path(), admin));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let sent: serde_json::Value = client
        .post(format!("{base}/api/v1/send"))
        .bearer_auth(admin)
        .json(&json!({"user_id": "restarter", "title": "wake me"}))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("send json");
    let id = sent["notification_id"].as_str().expect("id").to_string();
    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/users/restarter/token"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["token"].as_str().expect("token").to_string();
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    let res = client
        .post(format!("{base}/api/v1/notifications/{id}/snooze"))
        .bearer_auth(&token)
        .json(&json!({"until": until.to_rfc3339()}))
        .send()
        .await
        .expect("snooze");
    assert_eq!(res.status(), 200);
    // The first node goes away before the snooze ends; nothing of it survives but the database.
    let _ = stop.send(());
    thread.join().expect("first node stopped");

    let second_url = url.clone();
    let second = spawn_app_with(Backend::Sqlite, move |s| {
        s.database_url = Some(SecretString::from(second_url));
        s.jwt_secret = Some(SecretString::from(
            "snooze-restart-secret-0123456789".to_string(),
        ));
    })
    .await
    .expect("second node");
    let (mut ws, _) = second.ws(&token, None).await;
    if chrono::Utc::now() < until {
        let f = within(&mut ws, "unsnoozed", 15).await;
        assert_eq!(f["notification"]["id"], json!(id));
    } else {
        eprintln!("the second node started after the snooze ended; checking the stored state only");
    }
    let db = sea_orm::Database::connect(&url)
        .await
        .expect("direct connection");
    wait_for("the second node to wake the snooze", 15, || {
        let (db, id) = (db.clone(), id.clone());
        async move {
            use sea_orm::EntityTrait;
            let row =
                entity::notifications::Entity::find_by_id(uuid::Uuid::parse_str(&id).unwrap())
                    .one(&db)
                    .await
                    .expect("row");
            row.is_some_and(|r| r.snoozed_until.is_none())
        }
    })
    .await;
    let (_, page) = second.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(ids(&page), vec![id]);
    let _ = db.close().await;
    drop(second);
    if let Some(name) = pg {
        drop_pg_database(name);
    }
}

on_both_databases!(a_snoozed_notification_comes_back_with_an_unsnoozed_frame);
on_both!(a_snooze_survives_a_restart_on_the_same_database);
