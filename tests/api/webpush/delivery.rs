//! End to end: a subscription registered as a device, a `/send` on the
//! `web_push` channel, and what the push service stand-in receives.

use super::service::{check_vapid, PushService, Received, Subscriber};
use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::on_both;
use serde_json::{json, Value};
use std::time::Duration;

async fn app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.web_push_allow_private = true;
        s.delivery_retry_base_ms = 50;
    })
    .await
}

/// Registers a subscription at `service` for `user`; returns the user's token.
async fn subscribe(app: &TestApp, service: &PushService, who: &Subscriber, user: &str) -> String {
    let token = app.token(user).await;
    let endpoint = format!("{}/push/{user}", service.origin);
    let (status, device) = app
        .post_json(
            &token,
            "/api/v1/devices",
            json!({"platform": "web", "provider": "web_push", "subscription": who.subscription(&endpoint)}),
        )
        .await;
    assert_eq!(status, 201, "{device}");
    assert_eq!(device["provider"], "web_push");
    assert_eq!(device["token"], endpoint);
    token
}

async fn received(service: &PushService, count: usize) -> Vec<Received> {
    wait_for("the push service to receive", 20, || async {
        service.received().len() >= count
    })
    .await;
    service.received()
}

/// The web_push delivery of a `/send` with this request id, once `done` holds of it.
async fn delivery(app: &TestApp, user: &str, request_id: &str, done: fn(&Value) -> bool) -> Value {
    let path = format!("/api/v1/deliveries?user_id={user}&request_id={request_id}");
    let found = std::sync::Mutex::new(Value::Null);
    wait_for("the web_push delivery to settle", 20, || {
        let req = app.admin(reqwest::Method::GET, &path);
        let found = &found;
        async move {
            let Ok(res) = req.send().await else {
                return false;
            };
            let body: Value = res.json().await.unwrap_or_default();
            let item = body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| d["channel"] == "web_push" && done(d))
                .cloned();
            match item {
                Some(d) => {
                    *found.lock().expect("lock") = d;
                    true
                }
                None => false,
            }
        }
    })
    .await;
    found.into_inner().expect("lock")
}

async fn a_sent_web_push_arrives_signed_and_decrypts_to_the_notification(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let service = PushService::start(vec![(201, vec![("Location", "{n}".into())])]).await;
    let who = Subscriber::generate();
    let token = subscribe(&app, &service, &who, "wp-ada").await;
    let (status, key) = app.get_json(&token, "/api/v1/web-push/public-key").await;
    assert_eq!(status, 200);
    let public_key = key["public_key"].as_str().expect("public_key").to_string();

    let res = app
        .send(
            json!({"user_id": "wp-ada", "title": "Your table is ready", "body": "Table 4",
                     "action_url": "https://app.example/t/4", "channels": ["in_app", "web_push"],
                     "priority": "high", "category": "tables", "request_id": "wp-1"}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let got = received(&service, 1).await.remove(0);
    assert_eq!(got.path, "/push/wp-ada");
    let claims = check_vapid(&got, &public_key, &service.origin);
    assert!(claims["sub"]
        .as_str()
        .is_some_and(|s| s.starts_with("mailto:")));
    assert_eq!(got.header("urgency"), Some("high"));
    assert_eq!(got.header("ttl"), Some("21600"));
    assert_eq!(got.header("topic"), Some("tables"));
    let payload = who.open(&got);
    assert_eq!(payload["title"], "Your table is ready");
    assert_eq!(payload["body"], "Table 4");
    assert_eq!(payload["url"], "https://app.example/t/4");

    let sent = delivery(&app, "wp-ada", "wp-1", |d| d["status"] == "sent").await;
    assert_eq!(payload["delivery_id"], sent["id"]);
    assert_eq!(payload["notification_id"], sent["notification_id"]);

    // The service worker reports the click; only the recipient can.
    let click = json!({"notification_id": payload["notification_id"]});
    let stranger = app.token("wp-stranger").await;
    let (status, _) = app
        .post_json(&stranger, "/api/v1/web-push/clicked", click.clone())
        .await;
    assert_eq!(status, 404, "another user's delivery is not found");
    let (status, body) = app
        .post_json(&token, "/api/v1/web-push/clicked", click)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"][0]["status"], "clicked");
    delivery(&app, "wp-ada", "wp-1", |d| d["status"] == "clicked").await;
}

async fn a_subscription_the_push_service_dropped_is_deactivated(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let service = PushService::start(vec![(410, vec![])]).await;
    let who = Subscriber::generate();
    let token = subscribe(&app, &service, &who, "wp-gone").await;
    let res = app
        .send(json!({"user_id": "wp-gone", "title": "Hello", "body": "b",
                     "channels": ["web_push"], "request_id": "wp-2"}))
        .await;
    assert_eq!(res.status(), 202);
    let dead = delivery(&app, "wp-gone", "wp-2", |d| d["status"] == "dead").await;
    assert!(dead["last_error"].to_string().contains("410"), "{dead}");
    let (_, devices) = app.get_json(&token, "/api/v1/devices").await;
    assert_eq!(devices["items"][0]["active"], false, "{devices}");

    // Nothing more goes to a deactivated subscription.
    app.send(json!({"user_id": "wp-gone", "title": "Again", "body": "b",
                    "channels": ["web_push"], "request_id": "wp-3"}))
        .await;
    delivery(&app, "wp-gone", "wp-3", |d| d["status"] == "dead").await;
    assert_eq!(service.received().len(), 1);
}

async fn a_throttled_push_is_retried_no_sooner_than_retry_after(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let service = PushService::start(vec![
        (429, vec![("Retry-After", "2".into())]),
        (201, vec![]),
    ])
    .await;
    let who = Subscriber::generate();
    subscribe(&app, &service, &who, "wp-busy").await;
    app.send(json!({"user_id": "wp-busy", "title": "Later", "body": "b",
                    "channels": ["web_push"], "request_id": "wp-4"}))
        .await;
    let got = received(&service, 2).await;
    let gap = got[1].at.duration_since(got[0].at);
    assert!(
        gap >= Duration::from_millis(1900),
        "retried after {gap:?}, before Retry-After"
    );
    assert_eq!(who.open(&got[1])["title"], "Later");
    let sent = delivery(&app, "wp-busy", "wp-4", |d| d["status"] == "sent").await;
    assert_eq!(sent["attempts"], 2, "{sent}");
}

async fn rules_and_preferences_choose_web_push_like_any_channel(backend: Backend) {
    let Some(app) = app(backend).await else {
        return;
    };
    let service = PushService::start(vec![(201, vec![])]).await;
    let who = Subscriber::generate();
    let token = subscribe(&app, &service, &who, "wp-rule").await;
    let admin_post =
        |path: &str, body: Value| app.admin(reqwest::Method::POST, path).json(&body).send();
    let tpl =
        json!({"code": "shipped", "push": {"title": "Your order shipped", "body": "On its way"}});
    let res = admin_post("/api/v1/templates", tpl)
        .await
        .expect("template");
    assert_eq!(res.status(), 201);
    let rule = json!({"name": "shipped", "event_pattern": "order.shipped", "channels": ["web_push"],
                      "template_code": "shipped"});
    let res = admin_post("/api/v1/rules", rule).await.expect("rule");
    assert_eq!(res.status(), 201);
    let event = json!({"event_id": "e-wp-1", "event_type": "order.shipped", "user_id": "wp-rule"});
    let res = admin_post("/api/v1/events", event).await.expect("event");
    assert_eq!(res.status(), 202);
    let got = received(&service, 1).await.remove(0);
    assert_eq!(
        who.open(&got)["title"],
        "Your order shipped",
        "the template's push parts"
    );

    let res = app
        .as_user(&token, reqwest::Method::PATCH, "/api/v1/preferences")
        .json(&json!({"channels": {"web_push": false}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200);
    let res = app
        .send(
            json!({"user_id": "wp-rule", "title": "Muted", "body": "b", "channels": ["web_push"]}),
        )
        .await;
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["channels"]["web_push"], "suppressed", "{body}");
    assert_eq!(service.received().len(), 1, "nothing more was pushed");
}

on_both!(
    rules_and_preferences_choose_web_push_like_any_channel,
    a_sent_web_push_arrives_signed_and_decrypts_to_the_notification,
    a_subscription_the_push_service_dropped_is_deactivated,
    a_throttled_push_is_retried_no_sooner_than_retry_after,
);
