//! Faults in the delivery path: breakers that always leave half-open, one
//! breaker per webhook endpoint, callbacks that never move a status back,
//! panicking providers and restarted channel actors.

use crate::helpers::{spawn_app_extended, spawn_app_with, wait_for, Backend, TestApp};
use crate::on_both;
use crate::outbox::{phone, status_of, twilio, use_twilio, user_with_phone};
use crate::stubs::HttpStub;
use futures_util::future::BoxFuture;
use herald::channels::{Provider, ProviderError, Sent};
use herald::domain::{Channel, DeliveryContent};
use herald::persistence::deliveries::Delivery;
use herald::startup::Extensions;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

async fn breaker(app: &TestApp, name: &str) -> String {
    let ready = app.ready().await;
    ready["circuit_breakers"][name]
        .as_str()
        .unwrap_or("closed")
        .to_string()
}

async fn send_sms(app: &TestApp, user: &str, request_id: &str) {
    let res = app
        .send(json!({"user_id": user, "channels": ["sms"], "body": "hi", "request_id": request_id}))
        .await;
    assert_eq!(res.status(), 202);
}

async fn a_half_open_probe_that_ends_in_a_permanent_error_closes_the_breaker(backend: Backend) {
    let stub = HttpStub::start(vec![
        (503, "{}".into()),
        (503, "{}".into()),
        (400, r#"{"code": 21211, "message": "invalid To"}"#.into()),
        (201, r#"{"sid": "SM-after"}"#.into()),
    ])
    .await;
    let Some(app) = spawn_app_with(backend, |s| {
        use_twilio(s, stub.port);
        s.delivery_retry_base_ms = 50;
        s.delivery_breaker_threshold = 2;
        s.delivery_breaker_cooldown_ms = 800;
    })
    .await
    else {
        return;
    };
    user_with_phone(&app, "probe-1", &phone(11)).await;
    user_with_phone(&app, "probe-2", &phone(12)).await;
    send_sms(&app, "probe-1", "p1").await;
    wait_for("the circuit to open", 10, || async {
        breaker(&app, "sms").await == "open"
    })
    .await;
    // The probe is refused for this recipient: the provider answered, so the circuit closes.
    wait_for("the probe to settle the delivery dead", 10, || async {
        status_of(&app, "probe-1", "p1").await["status"] == "dead"
    })
    .await;
    assert_eq!(breaker(&app, "sms").await, "closed");
    send_sms(&app, "probe-2", "p2").await;
    wait_for("the next SMS to go at once", 5, || async {
        status_of(&app, "probe-2", "p2").await["status"] == "sent"
    })
    .await;
    assert_eq!(stub.recorded().len(), 4);
}

async fn one_endpoints_failures_do_not_defer_another_endpoint(backend: Backend) {
    let failing = HttpStub::start(vec![(500, "{}".into())]).await;
    let healthy = HttpStub::start(vec![(200, "{}".into())]).await;
    let Some(app) = spawn_app_with(backend, |s| {
        s.webhook_allow_private = true;
        s.delivery_retry_base_ms = 50;
        s.delivery_breaker_threshold = 2;
        s.delivery_breaker_cooldown_ms = 60_000;
    })
    .await
    else {
        return;
    };
    let mut ids = vec![];
    for port in [failing.port, healthy.port] {
        let ep: Value = app
            .admin(Method::POST, "/api/v1/webhooks")
            .json(&json!({"url": format!("http://127.0.0.1:{port}/hook"), "event_patterns": ["order.*"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(ep["id"].as_str().unwrap().to_string());
    }
    let publish = |id: &'static str| {
        let app = &app;
        async move {
            let res = app
                .admin(Method::POST, "/api/v1/events")
                .json(&json!({"event_id": id, "event_type": "order.created"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 202);
        }
    };
    publish("order-1").await;
    let failing_name = format!("webhook:{}", ids[0]);
    wait_for("the failing endpoint's circuit to open", 10, || async {
        breaker(&app, &failing_name).await == "open"
    })
    .await;
    publish("order-2").await;
    wait_for("the healthy endpoint to get both events", 5, || async {
        healthy.recorded().len() == 2
    })
    .await;
    assert_eq!(
        breaker(&app, &format!("webhook:{}", ids[1])).await,
        "closed"
    );
    assert_eq!(
        breaker(&app, "webhook").await,
        "closed",
        "no channel-wide breaker"
    );
    assert_eq!(failing.recorded().len(), 2, "left alone while open");
}

async fn a_late_sent_callback_leaves_a_delivered_delivery_delivered(backend: Backend) {
    let stub = twilio(Duration::ZERO).await;
    let Some(app) = spawn_app_with(backend, |s| {
        use_twilio(s, stub.port);
        s.callback_secret = Some(SecretString::from("relay-secret".to_string()));
    })
    .await
    else {
        return;
    };
    user_with_phone(&app, "cb-user", &phone(21)).await;
    send_sms(&app, "cb-user", "cb-1").await;
    wait_for("the SMS to be sent", 10, || async {
        status_of(&app, "cb-user", "cb-1").await["status"] == "sent"
    })
    .await;
    let sid = status_of(&app, "cb-user", "cb-1").await["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string();
    let report = |status: &str| {
        let body = json!({"provider_message_id": sid, "status": status}).to_string();
        let ts = chrono::Utc::now().timestamp().to_string();
        let sig =
            herald::channels::callbacks::generic_signature("relay-secret", &ts, body.as_bytes());
        app.client
            .post(app.url("/api/v1/callbacks/generic"))
            .header("x-herald-timestamp", ts)
            .header("x-herald-signature", sig)
            .body(body)
            .send()
    };
    let delivered: Value = report("delivered").await.unwrap().json().await.unwrap();
    assert_eq!(delivered["status"], "delivered");
    let late: Value = report("sent").await.unwrap().json().await.unwrap();
    assert_eq!(late["status"], "delivered", "{late}");
    assert_eq!(late["applied"], false);
    let item = status_of(&app, "cb-user", "cb-1").await;
    assert_eq!(item["status"], "delivered");
    let history = item["attempts_history"].to_string();
    assert!(history.contains("callback_ignored:sent"), "{history}");
}

/// Panics on a message whose text is "panic"; blocks for a minute on "block"
/// the first time; records every other text it is asked to send.
#[derive(Default)]
struct Unruly {
    sent: Mutex<Vec<String>>,
    calls: AtomicUsize,
    blocked: AtomicUsize,
}

impl Provider for Unruly {
    fn name(&self) -> &'static str {
        "unruly"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let DeliveryContent::Sms(sms) = &delivery.content else {
                return Err(ProviderError::Unsendable("not an SMS".into()));
            };
            if sms.text == "panic" {
                panic!("the formatter exploded");
            }
            if sms.text == "block" && self.blocked.fetch_add(1, Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            self.sent.lock().unwrap().push(sms.text.clone());
            Ok(Sent {
                provider_message_id: Some(format!("unruly-{}", delivery.id)),
            })
        })
    }
}

async fn a_panicking_provider_is_a_retryable_failure_and_the_channel_keeps_serving(
    backend: Backend,
) {
    let provider = Arc::new(Unruly::default());
    let extensions = Extensions {
        providers: vec![(Channel::Sms, provider.clone())],
    };
    let Some(app) = spawn_app_extended(backend, |_| {}, extensions).await else {
        return;
    };
    user_with_phone(&app, "p-user", &phone(31)).await;
    for (text, rid) in [("panic", "boom"), ("fine", "ok")] {
        let res = app
            .send(
                json!({"user_id": "p-user", "channels": ["sms"], "body": text, "request_id": rid}),
            )
            .await;
        assert_eq!(res.status(), 202);
    }
    wait_for("the next SMS to be sent", 10, || async {
        status_of(&app, "p-user", "ok").await["status"] == "sent"
    })
    .await;
    wait_for("the panic to be recorded as a retry", 10, || async {
        status_of(&app, "p-user", "boom").await["attempts_history"]
            .to_string()
            .contains("provider panicked: the formatter exploded")
    })
    .await;
    let boom = status_of(&app, "p-user", "boom").await;
    assert_eq!(boom["status"], "pending", "retried later: {boom}");
    assert_eq!(
        provider.sent.lock().unwrap().clone(),
        vec!["fine".to_string()]
    );
}

async fn a_restarted_channel_actor_gets_its_in_flight_send_back_through_its_lease(
    backend: Backend,
) {
    let provider = Arc::new(Unruly::default());
    let extensions = Extensions {
        providers: vec![(Channel::Sms, provider.clone())],
    };
    let Some(app) = spawn_app_extended(backend, |s| s.delivery_lease_secs = 1, extensions).await
    else {
        return;
    };
    user_with_phone(&app, "r-user", &phone(41)).await;
    let res = app
        .send(json!({"user_id": "r-user", "channels": ["sms"], "body": "block", "request_id": "stuck"}))
        .await;
    assert_eq!(res.status(), 202);
    wait_for("the send to be in flight", 10, || async {
        provider.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(
        app.channels.restart(Channel::Sms),
        "the actor was asked to stop"
    );
    wait_for("the lease to bring the send back", 15, || async {
        status_of(&app, "r-user", "stuck").await["status"] == "sent"
    })
    .await;
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        provider.sent.lock().unwrap().clone(),
        vec!["block".to_string()]
    );
}

on_both!(
    a_half_open_probe_that_ends_in_a_permanent_error_closes_the_breaker,
    one_endpoints_failures_do_not_defer_another_endpoint,
    a_late_sent_callback_leaves_a_delivered_delivery_delivered,
    a_panicking_provider_is_a_retryable_failure_and_the_channel_keeps_serving,
    a_restarted_channel_actor_gets_its_in_flight_send_back_through_its_lease,
);
