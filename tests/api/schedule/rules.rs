//! A rule with `delay`: the event is processed (and deduplicated) at once,
//! its notification is sent when the delay has passed.

use crate::helpers::{assert_silent, next_of_type, TestApp};
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .admin(Method::POST, path)
        .json(&body)
        .send()
        .await
        .expect("post");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn a_rule_with_a_delay_delays_the_events_notification(app: TestApp) {
    let (status, v) = post(
        &app,
        "/api/v1/templates",
        json!({"code": "reminder", "in_app": {"title": "Rate your visit"}}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, rule) = post(
        &app,
        "/api/v1/rules",
        json!({"name": "later", "event_pattern": "visit.ended", "channels": ["in_app"],
               "template_code": "reminder", "delay": "2s"}),
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["delay"], "2s");
    let (status, bad) = post(
        &app,
        "/api/v1/rules",
        json!({"name": "bad", "event_pattern": "visit.ended", "channels": ["in_app"],
               "template_code": "reminder", "delay": "soon"}),
    )
    .await;
    assert_eq!(status, 422, "{bad}");

    let token = app.token("visitor").await;
    let (mut ws, _) = app.ws(&token, None).await;
    let event = json!({"event_id": "visit-1", "event_type": "visit.ended", "user_id": "visitor"});
    let (status, out) = post(&app, "/api/v1/events", event.clone()).await;
    assert_eq!(
        (status, out["status"].clone()),
        (202, json!("processed")),
        "{out}"
    );
    let (status, again) = post(&app, "/api/v1/events", event).await;
    assert_eq!(
        (status, again["status"].clone()),
        (202, json!("duplicate")),
        "{again}"
    );
    let res = app
        .admin(Method::GET, "/api/v1/events/visit-1")
        .send()
        .await
        .expect("audit");
    let audit: Value = res.json().await.expect("audit json");
    assert_eq!(
        audit["outcome"]["rules"][0]["scheduled"]["delay"], "2s",
        "{audit}"
    );

    assert_silent(&mut ws, Duration::from_millis(1200)).await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"], json!([]), "nothing before the delay");
    let f = tokio::time::timeout(
        Duration::from_secs(8),
        next_of_type(&mut ws, "notification"),
    )
    .await
    .expect("the delayed notification");
    assert_eq!(f["notification"]["title"], "Rate your visit");
    assert_silent(&mut ws, Duration::from_millis(1500)).await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "once: {page}"
    );
}

on_both_databases!(a_rule_with_a_delay_delays_the_events_notification);
