//! Actions: a `url` action returns its URL and records the click; an `event`
//! action ingests an event through the normal pipeline, once.

use super::send_with;
use crate::helpers::{next_of_type, spawn_app_with, wait_for, Backend, TestApp};
use crate::stubs::HttpStub;
use crate::{on_both, on_both_databases};
use reqwest::Method;
use serde_json::{json, Value};

async fn a_url_action_returns_its_url_records_the_click_and_marks_read(app: TestApp) {
    let id = send_with(
        &app,
        "clicker",
        json!({"actions": [{"label": "Open booking", "url": "/bookings/7"}]}),
    )
    .await;
    let token = app.token("clicker").await;
    let (mut ws, _) = app.ws(&token, None).await;
    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/actions/0"),
            json!({}),
        )
        .await;
    assert_eq!((status, v), (200, json!({"url": "/bookings/7"})));
    let f = next_of_type(&mut ws, "read").await;
    assert_eq!(f["ids"], json!([id]));
    let deliveries: Value = app
        .admin(
            Method::GET,
            &format!("/api/v1/notifications/{id}/deliveries"),
        )
        .send()
        .await
        .expect("deliveries")
        .json()
        .await
        .expect("deliveries json");
    assert!(
        deliveries.to_string().contains("\"clicked\""),
        "click recorded: {deliveries}"
    );
    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/actions/1"),
            json!({}),
        )
        .await;
    assert_eq!(status, 404, "there is no second action: {v}");
    let (status, _) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/actions/x"),
            json!({}),
        )
        .await;
    assert_eq!(status, 422);
}

async fn an_event_action_is_audited_and_reaches_a_subscribed_webhook_once(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.webhook_allow_private = true).await else {
        return;
    };
    let receiver = HttpStub::start(vec![(200, "{}".into())]).await;
    let res = app
        .admin(Method::POST, "/api/v1/webhooks")
        .json(&json!({"url": format!("http://127.0.0.1:{}/hook", receiver.port), "event_patterns": ["invite.accepted"]}))
        .send()
        .await
        .expect("webhook");
    assert_eq!(res.status(), 201);
    let id = send_with(
        &app,
        "invitee",
        json!({"actions": [{"label": "Decline", "url": "/no"}, {"label": "Accept", "event": "invite.accepted"}]}),
    )
    .await;
    let token = app.token("invitee").await;
    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/actions/1"),
            json!({}),
        )
        .await;
    let event_id = format!("action:{id}:1");
    assert_eq!((status, v), (202, json!({"event_id": event_id})));
    // A second click is the same event: the idempotency key is the event id.
    let (status, _) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/actions/1"),
            json!({}),
        )
        .await;
    assert_eq!(status, 202);

    let audit: Value = app
        .admin(Method::GET, &format!("/api/v1/events/{event_id}"))
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("audit json");
    assert_eq!(audit["event_type"], "invite.accepted", "{audit}");
    assert_eq!(audit["source"], "action");
    assert_eq!(audit["status"], "processed");
    let webhooks = audit["deliveries"].as_array().expect("deliveries");
    assert_eq!(
        webhooks.len(),
        1,
        "two clicks, one event, one webhook delivery: {audit}"
    );
    wait_for("the webhook delivery", 15, || async {
        !receiver.recorded().is_empty()
    })
    .await;
    let hook: Value = serde_json::from_str(&receiver.recorded()[0].body).expect("webhook body");
    let text = hook.to_string();
    for part in [id.as_str(), "invitee", "Accept", "invite.accepted"] {
        assert!(text.contains(part), "webhook body lacks {part}: {text}");
    }
    let (_, one) = app
        .get_json(&token, &format!("/api/v1/notifications/{id}"))
        .await;
    assert!(one["read_at"].is_string(), "an action marks it read: {one}");
}

on_both_databases!(a_url_action_returns_its_url_records_the_click_and_marks_read);
on_both!(an_event_action_is_audited_and_reaches_a_subscribed_webhook_once);
