//! The inbox: seen vs read, archive, snooze, category tabs, tags and actions,
//! over REST and WebSocket.

mod actions;
pub(crate) mod snooze;
mod states;

use crate::helpers::TestApp;
use serde_json::{json, Value};

/// Sends `user` an in-app notification with extra fields; returns its id.
pub async fn send_with(app: &TestApp, user: &str, extra: Value) -> String {
    let mut body = json!({"user_id": user, "title": "t", "body": "b"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let res = app.send(body).await;
    assert_eq!(res.status(), 202, "send: {:?}", res.text().await);
    let v: Value = res.json().await.expect("send json");
    v["notification_id"]
        .as_str()
        .expect("notification id")
        .to_string()
}

/// The ids of a list page, newest first.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect()
}

/// `(unread_count, unseen_count)` from `GET /notifications/unread-count`.
pub async fn counts(app: &TestApp, token: &str) -> (u64, u64) {
    let (status, v) = app
        .get_json(token, "/api/v1/notifications/unread-count")
        .await;
    assert_eq!(status, 200, "{v}");
    (
        v["unread_count"].as_u64().expect("unread_count"),
        v["unseen_count"].as_u64().expect("unseen_count"),
    )
}
