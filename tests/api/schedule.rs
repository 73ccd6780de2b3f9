//! Scheduled and delayed sends: nothing before the due time, then the
//! notification; cancel, idempotent repeats, bad timings, restarts.

mod restart;
mod rules;
mod sends;

use crate::helpers::TestApp;
use serde_json::Value;

/// `DELETE` on a scheduled-send path: (status, body).
pub async fn delete(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app
        .admin(reqwest::Method::DELETE, path)
        .send()
        .await
        .expect("delete");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// `GET /scheduled` for `user`.
pub async fn pending(app: &TestApp, user: &str) -> Value {
    let res = app
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/scheduled?user_id={user}"),
        )
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 200);
    res.json().await.expect("list json")
}

/// Sends and returns (status, body).
pub async fn send(app: &TestApp, body: Value) -> (u16, Value) {
    let res = app.send(body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}
