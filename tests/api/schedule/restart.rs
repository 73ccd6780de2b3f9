//! A scheduled send lives in the database: a node that stops before the due
//! time leaves it to the next node, which sends it once.

use crate::helpers::{next_of_type, spawn_app_with, Backend};
use crate::inbox::snooze::{node_database, node_settings, start_node};
use crate::on_both;
use secrecy::SecretString;
use serde_json::json;
use std::time::Duration;

async fn a_scheduled_send_survives_a_restart_of_the_app(backend: Backend) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("tempdir");
    let Some((pg, url)) = node_database(backend, dir.path()).await else {
        return;
    };
    let admin = "schedule-restart-admin";
    let (port, stop, thread) = start_node(node_settings(&url, dir.path(), admin));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let res = client
        .post(format!("{base}/api/v1/send"))
        .bearer_auth(admin)
        .json(&json!({"user_id": "restarted", "title": "after the restart", "delay": "3s"}))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), 202);
    let v: serde_json::Value = res.json().await.expect("send json");
    assert_eq!(v["status"], "scheduled", "{v}");
    let token: serde_json::Value = client
        .post(format!("{base}/api/v1/users/restarted/token"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = token["token"].as_str().expect("token").to_string();
    // The first node goes away before the send is due; only the database remains.
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
    let (mut ws, hello) = second.ws(&token, None).await;
    if hello["unread_count"] == 0 {
        let f = tokio::time::timeout(
            Duration::from_secs(10),
            next_of_type(&mut ws, "notification"),
        )
        .await
        .expect("the scheduled notification from the second node");
        assert_eq!(f["notification"]["title"], "after the restart");
    }
    let (_, page) = second.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "sent once: {page}"
    );
    drop(second);
    if let Some(name) = pg {
        crate::helpers::drop_pg_database(name);
    }
}

on_both!(a_scheduled_send_survives_a_restart_of_the_app);
