//! CloudEvents 1.0 on every source: structured and binary mode over HTTP and
//! RabbitMQ, structured mode on a Redis stream, batch mode over HTTP. The
//! `id` dedupes, the `type` routes, `data` is the payload, and a malformed
//! CloudEvent is refused (422) or dead-lettered with the reason.

mod amqp;
mod http;
mod redis;

use crate::events::import;
use crate::helpers::TestApp;
use serde_json::{json, Value};

/// One rule: `ce.greeting` → an in-app notification to `user_id`.
pub(crate) async fn greeting_pack(app: &TestApp) {
    import(
        app,
        &json!({
            "name": "cloudevents",
            "templates": [{"code": "ce_greeting", "locale": "en",
                "in_app": {"title": "Hello {{ name }}", "body": "from a CloudEvent"}}],
            "rules": [{"name": "greeting", "event_pattern": "ce.greeting", "channels": ["in_app"],
                "template_code": "ce_greeting", "category": "general", "priority": "normal"}],
        }),
    )
    .await;
}

/// A structured-mode CloudEvent for `user`.
pub(crate) fn structured(id: &str, user: &str) -> Value {
    json!({"specversion": "1.0", "id": id, "type": "ce.greeting", "source": "/tests/cloudevents",
        "subject": "greeting-1", "time": "2026-12-02T10:00:00Z", "datacontenttype": "application/json",
        "data": {"user_id": user, "name": "Ada"}})
}

pub(crate) async fn titles(app: &TestApp, user: &str) -> Vec<String> {
    let token = app.token(user).await;
    let (_, page) = app
        .get_json(&token, "/api/v1/notifications?limit=100")
        .await;
    page["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|n| n["title"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn dead_letter_reasons(app: &TestApp) -> Vec<String> {
    let (_, list) = app.get_json(&app.admin_key, "/api/v1/dead-letters").await;
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|d| d["reason"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
