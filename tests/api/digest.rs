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

/// Imports the template and a rule on `order.*` (category `updates`) with `extra` fields.
pub async fn digest_rule(app: &TestApp, extra: Value) {
    let tpl = json!({"code": TEMPLATE, "in_app": {
        "title": "{% if count is defined %}{{ count }} updates{% else %}update {{ n }}{% endif %}",
        "body": "{% if items is defined %}{% for i in items %}{{ i.n }};{% endfor %}{% else %}{{ n }}{% endif %}"}});
    let mut rule = json!({"name": "order updates", "event_pattern": "order.*", "channels": ["in_app"],
        "template_code": TEMPLATE, "category": "updates"});
    if let (Some(r), Some(e)) = (rule.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    let pack = json!({"templates": [tpl], "rules": [rule]});
    let res = app
        .admin(Method::POST, "/api/v1/import")
        .json(&pack)
        .send()
        .await
        .expect("import");
    assert_eq!(res.status(), 200, "import: {:?}", res.text().await);
}

pub use crate::rulesinbox::audit;

/// Posts an `order.updated` event for `user` with fields `extra`; returns its id.
pub async fn publish(app: &TestApp, user: &str, extra: Value) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let mut event = json!({"event_id": id, "event_type": "order.updated", "user_id": user});
    if let (Some(r), Some(e)) = (event.as_object_mut(), extra.as_object()) {
        r.extend(e.clone());
    }
    let (status, out) = crate::rulesinbox::post_event(app, &event).await;
    assert_eq!(status, 202, "event: {out}");
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
