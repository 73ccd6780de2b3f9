//! Escalation: a rule's later steps reach the user on other channels while
//! the first (in-app) notification stays unread; a read cancels them.

mod steps;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::stubs::{fcm_service_account, HttpStub};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

/// An app whose push goes to an FCM stand-in, with the stand-in and its OAuth peer.
pub async fn app_with_fcm(backend: Backend) -> Option<(TestApp, HttpStub, HttpStub)> {
    let oauth = HttpStub::start(vec![(
        200,
        r#"{"access_token": "ya29.test", "expires_in": 3600, "token_type": "Bearer"}"#.into(),
    )])
    .await;
    let fcm = HttpStub::start(vec![(
        200,
        r#"{"name": "projects/herald-test/messages/0:1"}"#.into(),
    )])
    .await;
    let sa = fcm_service_account(oauth.port);
    let base = format!("http://127.0.0.1:{}", fcm.port);
    let app = spawn_app_with(backend, move |s| {
        s.fcm_service_account_json = Some(SecretString::from(sa));
        s.fcm_base_url = base;
    })
    .await?;
    Some((app, fcm, oauth))
}

/// An admin `POST`: (status, body).
pub async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    app.post_json(&app.admin_key, path, body).await
}

/// A template with in-app and push parts, a rule escalating to push `after`, and a device for `user`.
pub async fn escalating_rule(app: &TestApp, user: &str, after: &str) {
    let (s, v) = post(
        app,
        "/api/v1/templates",
        json!({"code": "alarm", "in_app": {"title": "Door open"},
               "push": {"title": "Door still open", "body": "{{ door }}"}}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let (s, rule) = post(
        app,
        "/api/v1/rules",
        json!({"name": "door", "event_pattern": "door.open", "channels": ["in_app"],
               "template_code": "alarm",
               "escalation": [{"after": after, "channels": ["push"]}]}),
    )
    .await;
    assert_eq!(s, 201, "{rule}");
    assert_eq!(
        rule["escalation"],
        json!([{"after": after, "channels": ["push"]}])
    );
    let (s, v) = post(
        app,
        &format!("/api/v1/users/{user}/devices"),
        json!({"fcm_token": format!("fcm-{user}"), "platform": "android"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
}

/// The event's audit.
pub async fn audit(app: &TestApp, event_id: &str) -> Value {
    app.admin(Method::GET, &format!("/api/v1/events/{event_id}"))
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("audit json")
}
