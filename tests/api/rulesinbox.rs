//! Rules give in-app notifications tags and actions through their template's
//! `in_app.tags` and `in_app.actions` parts.

mod refused;
mod rendered;

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

/// Creates template `code` with these in-app parts and a rule sending it on `pattern` events.
pub async fn rule_with(app: &TestApp, code: &str, pattern: &str, in_app: Value) {
    let res = app
        .admin(Method::POST, "/api/v1/templates")
        .json(&json!({"code": code, "in_app": in_app}))
        .send()
        .await
        .expect("template");
    assert_eq!(res.status(), 201, "template: {:?}", res.text().await);
    let rule = json!({"name": code, "event_pattern": pattern, "channels": ["in_app"], "template_code": code});
    let res = app
        .admin(Method::POST, "/api/v1/rules")
        .json(&rule)
        .send()
        .await
        .expect("rule");
    assert_eq!(res.status(), 201, "rule: {:?}", res.text().await);
}

/// `POST /events` → (status, body).
pub async fn post_event(app: &TestApp, event: &Value) -> (u16, Value) {
    let res = app
        .admin(Method::POST, "/api/v1/events")
        .json(event)
        .send()
        .await
        .expect("event");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `GET /events/{id}`: the event's audit.
pub async fn audit(app: &TestApp, event_id: &str) -> Value {
    let res = app
        .admin(Method::GET, &format!("/api/v1/events/{event_id}"))
        .send()
        .await
        .expect("audit");
    assert_eq!(res.status(), 200, "audit of {event_id}");
    res.json().await.expect("audit json")
}

/// The user's notification list at `query` (e.g. `?tag=x`).
pub async fn list(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (status, v) = app
        .get_json(token, &format!("/api/v1/notifications{query}"))
        .await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().expect("items").clone()
}
