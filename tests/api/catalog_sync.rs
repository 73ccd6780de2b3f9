//! A catalog change (rules, templates, webhook endpoints) made on one node or
//! by `herald import` applies to the very next events on every node, with the
//! periodic reload pushed out of reach so only the change path can explain
//! it; and two nodes on one database deliver each webhook exactly once.

mod cli;
mod nodes;
mod scheduling;

use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use herald::config::Settings;
use reqwest::Method;
use serde_json::{json, Value};

/// Far beyond every bound below: a test that converges did not wait for the poll.
pub const NO_POLL_SECS: u64 = 3600;
/// How long a change may take to reach another node in these tests, well
/// under the default 10 s reload interval.
pub const CONVERGE_SECS: u64 = 3;

pub fn without_poll(s: &mut Settings) {
    s.catalog.reload_interval_secs = NO_POLL_SECS;
    s.webhook_allow_private = true;
}

/// Two in-process nodes on one fresh PostgreSQL database. The second is
/// started as "SQLite" only so the helper makes no database of its own; its
/// URL is the first one's.
pub async fn two_nodes(tweak: fn(&mut Settings)) -> Option<(TestApp, TestApp)> {
    let a = spawn_app_with(Backend::Postgres, tweak).await?;
    let url = a.database_url.clone();
    let b = spawn_app_with(Backend::Sqlite, move |s| {
        tweak(s);
        s.database_url = Some(secrecy::SecretString::from(url));
    })
    .await?;
    Some((a, b))
}

pub async fn admin_json(app: &TestApp, method: Method, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .admin(method, path)
        .json(&body)
        .send()
        .await
        .expect("admin request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Posts an event with a fresh id and returns the pipeline's status for it.
pub async fn publish(app: &TestApp, event_type: &str, user: &str) -> String {
    let event = json!({"event_id": uuid::Uuid::new_v4().to_string(), "event_type": event_type, "user_id": user});
    let (status, out) = admin_json(app, Method::POST, "/api/v1/events", event).await;
    assert_eq!(status, 202, "event refused: {out}");
    out["status"].as_str().unwrap_or_default().to_string()
}

/// Publishes fresh events to `app` until one is processed, within [`CONVERGE_SECS`].
pub async fn processed_within_bound(app: &TestApp, event_type: &str, user: &str) {
    wait_for(
        &format!("an event of type {event_type} to be processed"),
        CONVERGE_SECS,
        || async { publish(app, event_type, user).await == "processed" },
    )
    .await;
}

/// The titles of `user`'s in-app notifications on `app`, newest first.
pub async fn titles(app: &TestApp, user: &str) -> Vec<String> {
    let token = app.token(user).await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    page["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["title"].as_str().map(str::to_string))
        .collect()
}
