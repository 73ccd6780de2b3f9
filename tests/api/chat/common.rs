//! What the chat tests share: an app that may reach loopback stand-ins over
//! http, retries fast enough to watch, and destination helpers.

use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::stubs::HttpStub;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

/// The bot token the Slack stand-in expects in bot mode.
pub const BOT_TOKEN: &str = "xoxb-test-token";

/// An app whose chat providers may post to loopback stand-ins; Slack's Web
/// API (bot mode) points at `slack_api`, when given.
pub async fn chat_app(backend: Backend, slack_api: Option<u16>) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.webhook_allow_private = true;
        s.chat_allow_http = true;
        // Short backoff, so a provider's Retry-After is what decides the wait.
        s.delivery_retry_base_ms = 100;
        if let Some(port) = slack_api {
            s.slack_api_base_url = format!("http://127.0.0.1:{port}");
            s.slack_bot_token = Some(SecretString::from(BOT_TOKEN.to_string()));
        }
    })
    .await
}

pub fn hook(stub: &HttpStub, path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", stub.port)
}

/// Sets a user's destination on a service (admin route) and returns the answer.
pub async fn set_destination(
    app: &TestApp,
    user: &str,
    service: &str,
    body: Value,
) -> (u16, Value) {
    let res = app
        .admin(Method::PUT, &format!("/api/v1/users/{user}/chat/{service}"))
        .json(&body)
        .send()
        .await
        .expect("put destination");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A `/send` on `channels`, returning the 202 answer.
pub async fn send_chat(app: &TestApp, user: &str, rid: &str, channels: &[&str]) -> Value {
    let res = app
        .send(
            json!({"user_id": user, "channels": channels, "title": "Booking confirmed",
                     "body": "Inception, 8 PM", "action_url": "https://movies.example/b/789",
                     "request_id": rid}),
        )
        .await;
    assert_eq!(res.status(), 202);
    res.json().await.expect("send json")
}

/// Every delivery a `/send` produced, with attempt history.
pub async fn deliveries(app: &TestApp, user: &str, rid: &str) -> Vec<Value> {
    let res = app
        .admin(
            Method::GET,
            &format!("/api/v1/deliveries?user_id={user}&request_id={rid}"),
        )
        .send()
        .await
        .expect("deliveries");
    let body: Value = res.json().await.unwrap_or(Value::Null);
    body["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the send's delivery on `channel` has `status`, and returns it.
pub async fn wait_for_status(
    app: &TestApp,
    user: &str,
    rid: &str,
    channel: &str,
    status: &str,
) -> Value {
    let of = || async {
        deliveries(app, user, rid)
            .await
            .into_iter()
            .find(|d| d["channel"] == channel)
    };
    wait_for(&format!("{channel} delivery {status}"), 20, || async {
        of().await.is_some_and(|d| d["status"] == status)
    })
    .await;
    of().await.unwrap_or(Value::Null)
}

/// Waits until the stand-in has had `n` requests.
pub async fn wait_for_requests(stub: &HttpStub, n: usize) {
    wait_for(&format!("{n} requests at the stand-in"), 20, || async {
        stub.recorded().len() >= n
    })
    .await;
}

pub fn body_of(stub: &HttpStub, i: usize) -> Value {
    let all = stub.recorded();
    serde_json::from_str(&all[i].body).expect("the stand-in got JSON")
}
