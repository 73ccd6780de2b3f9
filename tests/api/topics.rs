//! Topics: subscribers, batched fan-out over the one producer, and the
//! consent audit of preference changes.

mod fanout;
mod history;
mod manage;
mod rules;

use crate::helpers::TestApp;
use reqwest::Method;
use serde_json::{json, Value};

/// Creates `key` and subscribes `users` (in requests of 1000).
pub async fn topic_with(app: &TestApp, key: &str, users: &[String]) {
    let res = app
        .admin(Method::PUT, &format!("/api/v1/topics/{key}"))
        .json(&json!({}))
        .send()
        .await
        .expect("put topic");
    assert_eq!(res.status(), 201, "create: {:?}", res.text().await);
    for chunk in users.chunks(1000) {
        let (status, body) = call(
            app,
            Method::POST,
            &format!("/api/v1/topics/{key}/subscribers"),
            json!({"user_ids": chunk}),
        )
        .await;
        assert_eq!(status, 200, "subscribe: {body}");
    }
}

/// An admin call with a JSON body: (status, body).
pub async fn call(app: &TestApp, method: Method, path: &str, body: Value) -> (u16, Value) {
    let res = app
        .admin(method, path)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// An admin GET: (status, body).
pub async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app.admin(Method::GET, path).send().await.expect("get");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}
