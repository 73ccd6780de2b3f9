//! Hardening tests: webhooks. A hostile endpoint must not turn Herald into a
//! proxy into its own network (redirects, DNS rebinding), exhaust its memory
//! with a body, or get a secret URL written into errors.

mod peers;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both;
use crate::stubs::HttpStub;
use reqwest::Method;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

/// Creates an endpoint (the app checks the URL) and returns its id.
async fn create_endpoint(app: &TestApp, url: &str) -> String {
    let res = app
        .admin(Method::POST, "/api/v1/webhooks")
        .json(&json!({"url": url}))
        .send()
        .await
        .expect("create webhook");
    assert_eq!(res.status(), 201, "create {url}");
    let body: Value = res.json().await.expect("webhook json");
    body["id"].as_str().expect("webhook id").to_string()
}

/// Queues the endpoint's test event.
async fn send_test(app: &TestApp, id: &str) {
    let res = app
        .admin(Method::POST, &format!("/api/v1/webhooks/{id}/test"))
        .send()
        .await
        .expect("test send");
    assert_eq!(res.status(), 202);
}

/// The endpoint's newest delivery, with its attempts.
async fn latest_delivery(app: &TestApp, id: &str) -> Value {
    let log: Value = app
        .admin(Method::GET, &format!("/api/v1/webhooks/{id}/deliveries"))
        .send()
        .await
        .expect("delivery log")
        .json()
        .await
        .expect("delivery log json");
    log["items"][0].clone()
}

/// The newest delivery once `done` holds for it; fails the test after `secs`.
async fn delivery_when(app: &TestApp, id: &str, secs: u64, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let d = latest_delivery(app, id).await;
        if done(&d) {
            return d;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out; last seen {d}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The first attempt's error, once there is one.
async fn first_attempt_error(app: &TestApp, id: &str) -> String {
    let d = delivery_when(app, id, 20, |d| {
        d["attempts_history"][0]["error"].is_string()
    })
    .await;
    d["attempts_history"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Rewrites the stored URL behind the API's back, as DNS changing after the save would.
async fn rebind(app: &TestApp, id: &str, url: &str) {
    use entity::webhook_endpoints as w;
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .expect("test database");
    let id: uuid::Uuid = id.parse().expect("uuid");
    let res = w::Entity::update_many()
        .col_expr(w::Column::Url, Expr::value(url))
        .filter(w::Column::Id.eq(id))
        .exec(&db)
        .await
        .expect("rewrite the URL");
    assert_eq!(res.rows_affected, 1);
    let _ = db.close().await;
}

async fn a_redirect_to_loopback_is_not_followed(backend: Backend) {
    let internal = HttpStub::start(vec![(200, "{}".into())]).await;
    let location = format!("http://127.0.0.1:{}/internal/admin", internal.port);
    let (public, hits) = peers::redirecting_to(&location).await;
    // Loopback stands in for the public endpoint, so private targets are allowed:
    // the redirect must be refused for being a redirect, whatever its target.
    let Some(app) = spawn_app_with(backend, |s| {
        s.webhook_allow_private = true;
        s.delivery_retry_base_ms = 100;
    })
    .await
    else {
        return;
    };
    let id = create_endpoint(&app, &format!("http://127.0.0.1:{public}/hook")).await;
    send_test(&app, &id).await;
    let error = first_attempt_error(&app, &id).await;
    assert!(error.contains("HTTP 307"), "{error}");
    assert!(
        error.contains(&location),
        "the Location is recorded: {error}"
    );
    let delivery = latest_delivery(&app, &id).await;
    assert_ne!(delivery["status"], "sent", "{delivery}");
    assert!(delivery["attempts_history"][0]["outcome"] != "sent");
    assert!(hits.load(Ordering::SeqCst) >= 1);
    assert!(
        internal.recorded().is_empty(),
        "the signed body reached the redirect's target"
    );
}

async fn an_endpoint_rebound_to_loopback_is_never_contacted(backend: Backend) {
    let internal = HttpStub::start(vec![(200, "{}".into())]).await;
    let Some(app) = spawn_app_with(backend, |s| {
        s.webhook_allow_private = false;
        s.delivery_retry_base_ms = 100;
    })
    .await
    else {
        return;
    };
    // A name resolved by the client's resolver, and a literal it never sees.
    for host in ["localhost", "127.0.0.1"] {
        let id = create_endpoint(&app, "http://93.184.216.34/hooks/partner").await;
        let target = format!("http://{host}:{}/hooks/partner", internal.port);
        rebind(&app, &id, &target).await;
        send_test(&app, &id).await;
        let delivery = delivery_when(&app, &id, 20, |d| d["status"] == "dead").await;
        let error = delivery["last_error"].as_str().unwrap_or_default();
        assert!(error.contains("refused"), "{host}: {error}");
        assert!(error.contains(host), "{host}: {error}");
        assert!(error.contains("private"), "{host}: {error}");
        assert_eq!(
            delivery["attempts"], 1,
            "a refusal is not retried: {delivery}"
        );
    }
    assert_eq!(internal.recorded().len(), 0, "loopback was contacted");
}

async fn a_multi_megabyte_response_is_read_only_up_to_the_excerpt_limit(backend: Backend) {
    // 8 MiB announced, 2 MiB sent, the rest never: reading it whole waits for ever.
    let (port, hits) = peers::endless_body(400, 8 << 20, 2 << 20).await;
    let Some(app) = spawn_app_with(backend, |s| {
        s.webhook_allow_private = true;
        s.webhook_max_response_bytes = 1000;
    })
    .await
    else {
        return;
    };
    let id = create_endpoint(&app, &format!("http://127.0.0.1:{port}/hook")).await;
    send_test(&app, &id).await;
    // Generous: the excerpt is read in well under a second; the request timeout is 10 s.
    let delivery = delivery_when(&app, &id, 30, |d| d["status"] == "dead").await;
    let error = delivery["last_error"].as_str().unwrap_or_default();
    assert_eq!(
        error,
        format!("HTTP 400: {}", "x".repeat(1000)),
        "exactly the configured bytes are kept"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

async fn a_network_error_does_not_record_the_secret_path(backend: Backend) {
    let secret = format!("secret-{}", uuid::Uuid::new_v4().simple());
    let Some(app) = spawn_app_with(backend, |s| {
        s.webhook_allow_private = true;
        s.delivery_retry_base_ms = 100;
    })
    .await
    else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/T0/B0/{secret}", peers::closed_port());
    let id = create_endpoint(&app, &url).await;
    send_test(&app, &id).await;
    let error = first_attempt_error(&app, &id).await;
    assert!(error.starts_with("network: "), "{error}");
    assert!(!error.contains(&secret), "{error}");
    let delivery = latest_delivery(&app, &id).await;
    assert!(
        !delivery.to_string().contains(&secret),
        "the delivery log shows the secret path: {delivery}"
    );
}

async fn addresses_wrapping_a_private_ipv4_are_refused_when_saved(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.webhook_allow_private = false).await else {
        return;
    };
    let refused = [
        ("http://[64:ff9b::7f00:1]/", "url_not_allowed"), // NAT64 of 127.0.0.1
        ("http://[64:ff9b:1::808:808]/", "url_not_allowed"), // local-use NAT64
        ("http://[2002:a9fe:a9fe::1]/", "url_not_allowed"), // 6to4 of 169.254.169.254
        ("http://[::10.0.0.1]/", "url_not_allowed"),      // IPv4-compatible
        ("http://[2001::1]/", "url_not_allowed"),         // Teredo
        ("http://[fec0::1]/", "url_not_allowed"),         // site-local
        ("http://198.18.0.1/", "url_not_allowed"),        // benchmarking
        ("http://240.0.0.1/", "url_not_allowed"),         // reserved
        ("http://0.1.2.3/", "url_not_allowed"),           // "this network"
        ("http://192.0.2.10/", "url_not_allowed"),        // TEST-NET-1
        ("http://0x7f.1/", "url_not_allowed"),            // 127.0.0.1, spelled otherwise
        ("http://", "invalid_url"),
        ("not a url", "invalid_url"),
    ];
    for (url, code) in refused {
        let res = app
            .admin(Method::POST, "/api/v1/webhooks")
            .json(&json!({"url": url}))
            .send()
            .await
            .expect("create webhook");
        assert_eq!(res.status(), 422, "{url}");
        let body: Value = res.json().await.expect("error json");
        assert_eq!(body["error"]["code"], code, "{url}: {body}");
    }
    // Their public neighbours are accepted (literals: no DNS needed).
    for url in [
        "http://[64:ff9b::808:808]/",
        "http://[2002:808:808::1]/",
        "http://198.20.0.1/",
    ] {
        create_endpoint(&app, url).await;
    }
}

on_both!(
    addresses_wrapping_a_private_ipv4_are_refused_when_saved,
    a_redirect_to_loopback_is_not_followed,
    an_endpoint_rebound_to_loopback_is_never_contacted,
    a_multi_megabyte_response_is_read_only_up_to_the_excerpt_limit,
    a_network_error_does_not_record_the_secret_path
);
