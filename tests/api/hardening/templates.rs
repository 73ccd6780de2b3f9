//! Hardening tests: templates. Event data fills in values and never template
//! structure; a render has a size cap; the feed gets only declared data.

use crate::events::post_event;
use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::stubs::HttpStub;
use crate::{on_both, on_both_databases};
use reqwest::Method;
use serde_json::{json, Value};

/// The classic break-out: close the string, add a key, reopen a string.
const HOSTILE: &str = r#"x","admin":true,"y":""#;

async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let res = app
        .admin(Method::POST, path)
        .json(body)
        .send()
        .await
        .unwrap();
    (
        res.status().as_u16(),
        res.json().await.unwrap_or(Value::Null),
    )
}

async fn template_and_rule(app: &TestApp, template: Value, channels: &[&str]) {
    let code = template["code"].as_str().unwrap().to_string();
    let (s, body) = post(app, "/api/v1/templates", &template).await;
    assert_eq!(s, 201, "{body}");
    let rule = json!({"name": code, "event_pattern": format!("{code}.*"), "channels": channels, "template_code": code});
    let (s, body) = post(app, "/api/v1/rules", &rule).await;
    assert_eq!(s, 201, "{body}");
}

async fn feed(app: &TestApp, user: &str) -> Vec<Value> {
    let token = app.token(user).await;
    let (s, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(s, 200);
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn an_event_field_cannot_add_keys_to_the_webhook_body(backend: Backend) {
    let receiver = HttpStub::start(vec![(200, "{}".into())]).await;
    let Some(app) = spawn_app_with(backend, |s| s.webhook_allow_private = true).await else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let (s, body) = post(
        &app,
        "/api/v1/webhooks",
        &json!({"url": url, "event_patterns": ["signup.*"]}),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let tpl = json!({"code": "signup", "webhook": {"body": "{\"name\": {{ name }}, \"plan\": {{ plan|tojson }}}"}});
    template_and_rule(&app, tpl, &["webhook"]).await;
    let event = json!({"event_id": "signup-1", "event_type": "signup.created", "user_id": "u1", "name": HOSTILE, "plan": "free"});
    let (s, out) = post_event(&app, &event).await;
    assert_eq!(s, 202, "{out}");
    wait_for("the webhook", 15, || async {
        !receiver.recorded().is_empty()
    })
    .await;
    let sent: Value = serde_json::from_str(&receiver.recorded()[0].body).unwrap();
    assert_eq!(
        sent["data"],
        json!({"name": HOSTILE, "plan": "free"}),
        "the field stays one string value; no 'admin' key"
    );
}

async fn an_event_field_cannot_add_keys_to_a_push_or_in_app_payload_in_preview(app: TestApp) {
    let tpl = json!({"code": "alert", "push": {"title": "Hi {{ name }}", "data": "{\"name\": {{ name }}}"},
                     "in_app": {"title": "Hi {{ name }}", "data": "{\"name\": {{ name }}}"}});
    let (s, body) = post(&app, "/api/v1/templates", &tpl).await;
    assert_eq!(s, 201, "{body}");
    let (s, out) = post(
        &app,
        "/api/v1/templates/alert/render",
        &json!({"variables": {"name": HOSTILE}}),
    )
    .await;
    assert_eq!(s, 200, "{out}");
    for channel in ["push", "in_app"] {
        let data: Value =
            serde_json::from_str(out["channels"][channel]["parts"]["data"].as_str().unwrap())
                .unwrap();
        assert_eq!(data, json!({ "name": HOSTILE }), "{channel}");
    }
    assert_eq!(
        out["channels"]["push"]["parts"]["title"],
        format!("Hi {HOSTILE}")
    );
}

async fn a_quoted_value_in_a_json_part_is_refused_when_the_template_is_saved(app: TestApp) {
    let quoted = json!({"code": "alert", "push": {"title": "Alert", "data": "{\n  \"level\": \"{{ level }}\"\n}"}});
    let (s, body) = post(&app, "/api/v1/templates", &quoted).await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["code"], "template_json_quoted_value");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("push.data, line 2"), "{message}");
    let fine =
        json!({"code": "alert", "push": {"title": "Alert", "data": "{\"level\": {{ level }}}"}});
    let (s, body) = post(&app, "/api/v1/templates", &fine).await;
    assert_eq!(s, 201, "{body}");
    let res = app
        .admin(Method::PUT, "/api/v1/templates/alert")
        .json(&json!({"webhook": {"body": "{\"id\": \"evt-{{ id }}\"}"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "a new version is checked too");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "template_json_quoted_value");
}

async fn a_render_over_the_output_cap_is_refused_in_preview_and_rejects_the_event(app: TestApp) {
    // 1 MB costs about 16 000 of the 100 000 fuel: only the output cap stops it.
    let tpl = json!({"code": "big", "in_app": {"title": "Big", "body": "{{ \"x\" * size }}"}});
    template_and_rule(&app, tpl, &["in_app"]).await;
    let (s, out) = post(
        &app,
        "/api/v1/templates/big/render",
        &json!({"variables": {"size": 1_000_000}}),
    )
    .await;
    assert_eq!(s, 422, "{out}");
    assert_eq!(out["error"]["code"], "template_output_too_large");
    assert!(
        out["error"]["message"]
            .as_str()
            .unwrap()
            .contains("in_app.body produced more than 262144 bytes"),
        "{out}"
    );
    let (s, out) = post(
        &app,
        "/api/v1/templates/big/render",
        &json!({"variables": {"size": 262_144}}),
    )
    .await;
    assert_eq!(s, 200, "exactly at the cap renders: {out}");
    let event =
        json!({"event_id": "big-1", "event_type": "big.one", "user_id": "u1", "size": 1_000_000});
    let (s, out) = post_event(&app, &event).await;
    assert_eq!(s, 422, "{out}");
    assert_eq!(out["error"]["code"], "event_rejected");
    assert!(feed(&app, "u1").await.is_empty());
}

async fn the_output_cap_follows_the_setting(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.template_max_output_bytes = 100).await else {
        return;
    };
    let tpl = json!({"code": "small", "in_app": {"title": "{{ title }}"}});
    let (s, body) = post(&app, "/api/v1/templates", &tpl).await;
    assert_eq!(s, 201, "{body}");
    let render = |n: usize| json!({"variables": {"title": "t".repeat(n)}});
    let (s, _) = post(&app, "/api/v1/templates/small/render", &render(100)).await;
    assert_eq!(s, 200);
    let (s, out) = post(&app, "/api/v1/templates/small/render", &render(101)).await;
    assert_eq!(s, 422, "{out}");
    assert_eq!(out["error"]["code"], "template_output_too_large");
}

async fn an_event_notification_carries_only_the_data_its_template_declares(app: TestApp) {
    let declared = json!({"code": "booking", "in_app": {"title": "Booked {{ booking_id }}",
        "data": "{\"booking_id\": {{ booking_id }}, \"seats\": {{ seats }}}"}});
    template_and_rule(&app, declared, &["in_app"]).await;
    let bare = json!({"code": "refund", "in_app": {"title": "Refund {{ booking_id }}"}});
    template_and_rule(&app, bare, &["in_app"]).await;
    let private = json!({"internal_margin": 0.42, "other_guest_email": "someone@example.com", "booking_id": "B1", "seats": ["A1", "A2"], "user_id": "u1"});
    for (id, ty) in [("e1", "booking.confirmed"), ("e2", "refund.issued")] {
        let mut event = private.clone();
        event["event_id"] = json!(id);
        event["event_type"] = json!(ty);
        let (s, out) = post_event(&app, &event).await;
        assert_eq!(s, 202, "{out}");
    }
    let items = feed(&app, "u1").await;
    let data = |title: &str| {
        items
            .iter()
            .find(|n| n["title"] == title)
            .map(|n| n["data"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        data("Booked B1"),
        json!({"booking_id": "B1", "seats": ["A1", "A2"], "event_type": "booking.confirmed"})
    );
    assert_eq!(
        data("Refund B1"),
        json!({"event_type": "refund.issued"}),
        "a template that declares nothing passes nothing on"
    );
}

async fn a_send_with_a_template_keeps_its_explicit_data_over_declared_keys(app: TestApp) {
    let tpl = json!({"code": "promo", "in_app": {"title": "Hi {{ name }}",
        "data": "{\"name\": {{ name }}, \"campaign\": \"template\"}"}});
    let (s, body) = post(&app, "/api/v1/templates", &tpl).await;
    assert_eq!(s, 201, "{body}");
    let res = app
        .send(
            json!({"user_id": "u2", "template_code": "promo", "variables": {"name": "Ada"},
                     "data": {"campaign": "c1"}}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let items = feed(&app, "u2").await;
    assert_eq!(items[0]["data"], json!({"name": "Ada", "campaign": "c1"}));
}

on_both!(
    an_event_field_cannot_add_keys_to_the_webhook_body,
    the_output_cap_follows_the_setting
);

on_both_databases!(
    an_event_field_cannot_add_keys_to_a_push_or_in_app_payload_in_preview,
    a_quoted_value_in_a_json_part_is_refused_when_the_template_is_saved,
    a_render_over_the_output_cap_is_refused_in_preview_and_rejects_the_event,
    an_event_notification_carries_only_the_data_its_template_declares,
    a_send_with_a_template_keeps_its_explicit_data_over_declared_keys
);
