//! Digests and throttles: matching events folded into one notification per
//! (user, rule, key), flushed by a durable loop through the one producer;
//! throttles that drop or digest what is beyond their limit.

mod flush;
mod fold;
mod rules;
mod throttle;

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

/// One template for both an immediate send and a digest: `count` and `items` exist only in a digest.
const TEMPLATE: &str = "digest_updates";

/// Creates the template and a rule on `order.*` (category `updates`) with `extra` fields.
pub async fn digest_rule(app: &TestApp, extra: Value) {
    let tpl = json!({"code": TEMPLATE, "in_app": {
        "title": "{% if count is defined %}{{ count }} updates{% else %}update {{ n }}{% endif %}",
        "body": "{% if items is defined %}{% for i in items %}{{ i.n }};{% endfor %}{% else %}{{ n }}{% endif %}"}});
    let res = app
        .admin(Method::POST, "/api/v1/templates")
        .json(&tpl)
        .send()
        .await
        .expect("template");
    assert_eq!(res.status(), 201, "template: {:?}", res.text().await);
    let mut rule = json!({"name": "order updates", "event_pattern": "order.*", "channels": ["in_app"],
        "template_code": TEMPLATE, "category": "updates"});
    if let (Some(r), Some(e)) = (rule.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    let res = app
        .admin(Method::POST, "/api/v1/rules")
        .json(&rule)
        .send()
        .await
        .expect("rule");
    assert_eq!(res.status(), 201, "rule: {:?}", res.text().await);
}

/// Posts an `order.updated` event for `user` with fields `extra`; returns its id.
pub async fn publish(app: &TestApp, user: &str, extra: Value) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let mut event = json!({"event_id": id, "event_type": "order.updated", "user_id": user});
    if let (Some(r), Some(e)) = (event.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    let res = app
        .admin(Method::POST, "/api/v1/events")
        .json(&event)
        .send()
        .await
        .expect("event");
    assert_eq!(res.status(), 202, "event: {:?}", res.text().await);
    id
}

/// The user's feed items, newest first.
pub async fn feed(app: &TestApp, user: &str) -> Vec<Value> {
    let token = app.token(user).await;
    let (status, page) = app
        .get_json(&token, "/api/v1/notifications?limit=100")
        .await;
    assert_eq!(status, 200);
    page["items"].as_array().cloned().unwrap_or_default()
}

pub async fn audit(app: &TestApp, event_id: &str) -> Value {
    let res = app
        .admin(Method::GET, &format!("/api/v1/events/{event_id}"))
        .send()
        .await
        .expect("audit");
    assert_eq!(res.status(), 200);
    res.json().await.expect("audit json")
}
