//! The outbox's exactly-once guarantees, counted at the provider stand-in:
//! fenced leases, capacity-aware claims and `/send` idempotency on every channel.

use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::on_both;
use crate::stubs::{HttpStub, Recorded};
use futures_util::StreamExt;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

pub fn use_twilio(s: &mut herald::config::Settings, port: u16) {
    s.twilio_base_url = format!("http://127.0.0.1:{port}");
    s.twilio_account_sid = Some("AC_test".into());
    s.twilio_auth_token = Some(SecretString::from("twilio-token".to_string()));
    s.twilio_from = Some("+15005550006".into());
}

/// A Twilio stand-in that answers every request with a fresh message sid after `delay`.
pub async fn twilio(delay: Duration) -> HttpStub {
    HttpStub::start_slow(vec![(201, r#"{"sid":"SM{n}"}"#.into())], delay).await
}

/// The `To` number of a recorded Messages API request.
pub fn to_of(r: &Recorded) -> String {
    url::form_urlencoded::parse(r.body.as_bytes())
        .find(|(k, _)| k == "To")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

pub fn phone(i: usize) -> String {
    format!("+1415{:07}", i)
}

pub async fn user_with_phone(app: &TestApp, user: &str, number: &str) {
    let res = app
        .admin(Method::PUT, &format!("/api/v1/users/{user}"))
        .json(&json!({"phone": number}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

pub async fn sms(app: &TestApp, user: &str, text: &str) -> Value {
    let res = app
        .send(json!({"user_id": user, "channels": ["sms"], "title": "t", "body": text}))
        .await;
    assert_eq!(res.status(), 202);
    res.json().await.unwrap()
}

/// The status of the first delivery of a `/send` request.
pub async fn status_of(app: &TestApp, user: &str, request_id: &str) -> Value {
    let res = app
        .admin(
            Method::GET,
            &format!("/api/v1/deliveries?user_id={user}&request_id={request_id}"),
        )
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    body["items"][0].clone()
}

async fn a_delivery_held_past_its_lease_reaches_the_provider_exactly_once(backend: Backend) {
    // The provider takes 4 s; the lease is 1 s and is renewed while the send is in flight.
    let stub = twilio(Duration::from_secs(4)).await;
    let Some(app) = spawn_app_with(backend, |s| {
        use_twilio(s, stub.port);
        s.delivery_lease_secs = 1;
    })
    .await
    else {
        return;
    };
    user_with_phone(&app, "slow-1", &phone(1)).await;
    let res = app
        .send(json!({"user_id": "slow-1", "channels": ["sms"], "body": "hi", "request_id": "held"}))
        .await;
    assert_eq!(res.status(), 202);
    wait_for("the SMS to be recorded sent", 20, || async {
        status_of(&app, "slow-1", "held").await["status"] == "sent"
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stub.recorded().len(), 1, "sent exactly once");
    let item = status_of(&app, "slow-1", "held").await;
    let attempts = item["attempts_history"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(attempts.len(), 1, "{item}");
}

async fn three_thousand_sms_at_one_second_each_reach_each_number_exactly_once(backend: Backend) {
    const N: usize = 3000;
    let stub = twilio(Duration::from_secs(1)).await;
    let Some(app) = spawn_app_with(backend, |s| use_twilio(s, stub.port)).await else {
        return;
    };
    let app = &app;
    futures_util::stream::iter(0..N)
        .for_each_concurrent(32, |i| async move {
            user_with_phone(app, &format!("bulk-{i}"), &phone(i)).await;
            sms(app, &format!("bulk-{i}"), "Your code is 123456").await;
        })
        .await;
    // At the default 32 in flight and 1 s each, about 94 s.
    wait_for("every SMS to reach the stand-in", 300, || async {
        stub.recorded().len() >= N
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut per_number: HashMap<String, usize> = HashMap::new();
    for r in stub.recorded() {
        *per_number.entry(to_of(&r)).or_default() += 1;
    }
    assert_eq!(per_number.len(), N, "every number got a message");
    let repeated: Vec<_> = per_number.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "sent twice: {repeated:?}");
}

async fn twenty_concurrent_sends_with_one_request_id_send_one_sms_and_answer_alike(
    backend: Backend,
) {
    let stub = twilio(Duration::ZERO).await;
    let Some(app) = spawn_app_with(backend, |s| use_twilio(s, stub.port)).await else {
        return;
    };
    user_with_phone(&app, "otp-user", &phone(7)).await;
    let app = &app;
    let answers: Vec<Value> = futures_util::future::join_all((0..20).map(|_| async move {
        let res = app
            .send(json!({"user_id": "otp-user", "channels": ["sms"], "body": "Code 42", "request_id": "otp-1"}))
            .await;
        assert_eq!(res.status(), 202);
        res.json::<Value>().await.unwrap()
    }))
    .await;
    let firsts = answers.iter().filter(|a| a["duplicate"] == false).count();
    assert_eq!(firsts, 1, "one send, the rest are repeats: {answers:?}");
    let strip = |a: &Value| {
        let mut a = a.clone();
        a.as_object_mut().map(|o| o.remove("duplicate"));
        a
    };
    for a in &answers {
        assert_eq!(strip(a), strip(&answers[0]), "identical answers");
    }
    assert_eq!(answers[0]["channels"]["sms"], "queued");
    wait_for("the SMS", 10, || async { !stub.recorded().is_empty() }).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stub.recorded().len(), 1, "one SMS");
    // A later repeat, suppressed in-app or not, still answers as the original did.
    let later = app
        .send(json!({"user_id": "otp-user", "channels": ["sms"], "body": "Code 42", "request_id": "otp-1"}))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(strip(&later), strip(&answers[0]));
    assert_eq!(later["duplicate"], true);
}

async fn a_repeated_request_id_returns_the_original_notification_and_outcomes(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let body = json!({"user_id": "mixed", "channels": ["in_app", "email", "sms"], "title": "Hi", "body": "There", "request_id": "mixed-1"});
    let first: Value = app.send(body.clone()).await.json().await.unwrap();
    assert_eq!(first["channels"]["in_app"], "accepted");
    assert_eq!(first["channels"]["email"], "skipped", "no address yet");
    // The user gains an email address; the repeat still answers as the original did.
    app.admin(Method::PUT, "/api/v1/users/mixed")
        .json(&json!({"email": "m@example.com"}))
        .send()
        .await
        .unwrap();
    let again: Value = app.send(body).await.json().await.unwrap();
    assert_eq!(again["notification_id"], first["notification_id"]);
    assert_eq!(again["seq"], first["seq"]);
    assert_eq!(again["channels"], first["channels"]);
    assert_eq!(again["duplicate"], true);
}

on_both!(
    a_delivery_held_past_its_lease_reaches_the_provider_exactly_once,
    three_thousand_sms_at_one_second_each_reach_each_number_exactly_once,
    twenty_concurrent_sends_with_one_request_id_send_one_sms_and_answer_alike,
    a_repeated_request_id_returns_the_original_notification_and_outcomes,
);
