//! Destinations: set per user (by the user or a service), shown redacted,
//! private to their user; a missing one skips the channel with a reason.

use super::common::*;
use crate::helpers::{spawn_app, Backend};
use crate::on_both;
use crate::stubs::HttpStub;
use reqwest::Method;
use serde_json::{json, Value};

async fn a_send_without_a_destination_is_skipped_with_its_reason(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let answer = send_chat(&app, "nobody", "r1", &["in_app", "slack", "teams"]).await;
    assert_eq!(answer["channels"]["slack"], "skipped", "{answer}");
    assert_eq!(answer["channels"]["teams"], "skipped", "{answer}");
    assert_eq!(answer["channels"]["in_app"], "accepted");
    let ds = deliveries(&app, "nobody", "r1").await;
    assert!(ds.iter().all(|d| d["channel"] == "in_app"), "{ds:?}");
}

async fn a_users_destination_is_shown_redacted_and_only_to_that_user(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let stub = HttpStub::start(vec![(204, String::new())]).await;
    let ada = app.token("ada").await;
    let url = hook(&stub, "/api/webhooks/1/very-secret-token");
    let res = app
        .as_user(&ada, Method::PUT, "/api/v1/chat/discord")
        .json(&json!({"webhook_url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(!body.contains("very-secret"), "{body}");
    let (s, mine) = app.get_json(&ada, "/api/v1/chat").await;
    assert_eq!(s, 200);
    assert_eq!(mine["items"][0]["service"], "discord");
    assert_eq!(
        mine["items"][0]["destination"],
        format!("http://127.0.0.1/…oken")
    );
    let bob = app.token("bob").await;
    let (_, theirs) = app.get_json(&bob, "/api/v1/chat").await;
    assert_eq!(theirs["items"], json!([]), "bob sees none of ada's");
    let res = app
        .as_user(&bob, Method::DELETE, "/api/v1/chat/discord")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = app
        .admin(Method::GET, "/api/v1/users/ada/chat")
        .send()
        .await
        .unwrap();
    let admin_view = res.text().await.unwrap();
    assert!(
        admin_view.contains("discord") && !admin_view.contains("very-secret"),
        "{admin_view}"
    );
    let res = app
        .as_user(&ada, Method::DELETE, "/api/v1/chat/discord")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let answer = send_chat(&app, "ada", "r1", &["discord"]).await;
    assert_eq!(answer["channels"]["discord"], "skipped");
    assert!(stub.recorded().is_empty());
}

async fn unsafe_or_malformed_destinations_are_refused(backend: Backend) {
    // Default settings: https only, no private addresses.
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let put = |service: &'static str, body: Value| {
        let req = app
            .admin(Method::PUT, &format!("/api/v1/users/ada/chat/{service}"))
            .json(&body);
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let v: Value = res.json().await.unwrap_or(Value::Null);
            (
                status,
                v["error"]["code"].as_str().unwrap_or_default().to_string(),
            )
        }
    };
    let cases = [
        (
            "slack",
            json!({"webhook_url": "http://hooks.example/x"}),
            "invalid_field",
        ),
        (
            "discord",
            json!({"webhook_url": "https://127.0.0.1/x"}),
            "url_not_allowed",
        ),
        (
            "teams",
            json!({"webhook_url": "https://[::ffff:169.254.169.254]/x"}),
            "url_not_allowed",
        ),
        ("teams", json!({"channel": "C0123ABCD"}), "invalid_field"),
        ("slack", json!({"channel": "#general"}), "invalid_field"),
        ("slack", json!({}), "invalid_chat_destination"),
        (
            "pigeon",
            json!({"channel": "C0123ABCD"}),
            "invalid_chat_service",
        ),
    ];
    for (service, body, code) in cases {
        assert_eq!(
            put(service, body.clone()).await,
            (422, code.to_string()),
            "{service} {body}"
        );
    }
}

async fn a_chat_channel_the_user_turned_off_is_suppressed(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let stub = HttpStub::start(vec![(204, String::new())]).await;
    set_destination(
        &app,
        "ada",
        "discord",
        json!({"webhook_url": hook(&stub, "/d")}),
    )
    .await;
    set_destination(
        &app,
        "ada",
        "teams",
        json!({"webhook_url": hook(&stub, "/t")}),
    )
    .await;
    let ada = app.token("ada").await;
    let res = app
        .as_user(&ada, Method::PATCH, "/api/v1/preferences")
        .json(&json!({"channels": {"discord": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let answer = send_chat(&app, "ada", "r1", &["discord", "teams"]).await;
    assert_eq!(answer["channels"]["discord"], "suppressed", "{answer}");
    assert_eq!(answer["channels"]["teams"], "queued", "{answer}");
    wait_for_requests(&stub, 1).await;
    assert_eq!(stub.recorded()[0].path, "/t");
}

on_both!(
    a_chat_channel_the_user_turned_off_is_suppressed,
    a_send_without_a_destination_is_skipped_with_its_reason,
    a_users_destination_is_shown_redacted_and_only_to_that_user,
    unsafe_or_malformed_destinations_are_refused,
);
