//! Hardening tests: ratelimit. Per-caller request limits (429 with
//! Retry-After and the IETF RateLimit fields), the hourly test-notification
//! quota, the push throttle on `/send`, and each path's own `Allow`.
//!
//! Buckets here refill at 1 request per second. A test spends its burst
//! and then keeps sending, up to `EXTRA` more requests, until one is refused:
//! that holds even on a machine slow enough to refill a few tokens meanwhile.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both;
use reqwest::{Method, Response};
use serde_json::{json, Value};

const BURST: u32 = 5;
const EXTRA: usize = 50;

fn header(res: &Response, name: &str) -> String {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn tight_user_limit(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.rate_limit.user_per_sec = 1;
        s.rate_limit.user_burst = BURST;
    })
    .await
}

async fn unread_count(app: &TestApp, token: &str) -> Response {
    app.as_user(token, Method::GET, "/api/v1/notifications/unread-count")
        .send()
        .await
        .expect("unread-count")
}

/// Spends what is left of a fresh bucket after `spent` requests through
/// `request`, asserting each is let through, then returns the first refusal.
async fn exhaust_after<F, Fut>(spent: u32, mut request: F) -> Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    for n in spent..BURST {
        let res = request().await;
        assert!(
            res.status().is_success(),
            "request {n} of the burst was refused: {}",
            res.status()
        );
    }
    for _ in 0..EXTRA {
        let res = request().await;
        if res.status() == 429 {
            return res;
        }
    }
    panic!("no 429 after the burst and {EXTRA} more requests");
}

async fn exhaust<F, Fut>(request: F) -> Response
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    exhaust_after(0, request).await
}

async fn assert_limited(res: Response, policy: &str, quota: u32, window: u64) -> Value {
    assert_eq!(res.status(), 429);
    let retry: u64 = header(&res, "retry-after")
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(retry >= 1, "Retry-After is at least 1, got {retry}");
    assert_eq!(
        header(&res, "ratelimit-policy"),
        format!("\"{policy}\";q={quota};w={window}")
    );
    let state = header(&res, "ratelimit");
    assert!(
        state.starts_with(&format!("\"{policy}\";r=0;t=")),
        "RateLimit: {state}"
    );
    let body: Value = res.json().await.expect("429 body is JSON");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    body
}

async fn a_user_token_past_its_burst_gets_429_with_retry_after_and_ratelimit_fields(
    backend: Backend,
) {
    let Some(app) = tight_user_limit(backend).await else {
        return;
    };
    let token = app.token("flooder").await;
    let first = unread_count(&app, &token).await;
    assert_eq!(first.status(), 200);
    assert_eq!(
        header(&first, "ratelimit-policy"),
        format!("\"user\";q={BURST};w={BURST}")
    );
    assert!(
        header(&first, "ratelimit").starts_with(&format!("\"user\";r={};t=", BURST - 1)),
        "successful answers carry RateLimit: {}",
        header(&first, "ratelimit")
    );
    let refused = exhaust_after(1, || unread_count(&app, &token)).await;
    assert_limited(refused, "user", BURST, u64::from(BURST)).await;
    // Refused before the body is read: malformed JSON gets 429, not 400.
    let res = app
        .as_user(&token, Method::POST, "/api/v1/notifications/mark-read")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
}

on_both!(a_user_token_past_its_burst_gets_429_with_retry_after_and_ratelimit_fields);

async fn one_user_exhausting_their_limit_leaves_other_users_untouched(backend: Backend) {
    let Some(app) = tight_user_limit(backend).await else {
        return;
    };
    let (noisy, quiet) = (app.token("noisy").await, app.token("quiet").await);
    let refused = exhaust(|| unread_count(&app, &noisy)).await;
    assert_eq!(refused.status(), 429);
    let res = unread_count(&app, &quiet).await;
    assert_eq!(res.status(), 200);
    assert!(header(&res, "ratelimit").starts_with(&format!("\"user\";r={};", BURST - 1)));
}

on_both!(one_user_exhausting_their_limit_leaves_other_users_untouched);

async fn the_user_limit_is_keyed_by_user_so_a_fresh_token_does_not_reset_it(backend: Backend) {
    let Some(app) = tight_user_limit(backend).await else {
        return;
    };
    let old = app.token("rotator").await;
    // Tokens carry their issue time in seconds: wait for the next one, so the two differ.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fresh = app.token("rotator").await;
    assert_ne!(old, fresh);
    exhaust(|| unread_count(&app, &old)).await;
    assert_eq!(unread_count(&app, &fresh).await.status(), 429);
}

on_both!(the_user_limit_is_keyed_by_user_so_a_fresh_token_does_not_reset_it);

async fn the_default_user_limit_refuses_a_flood(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let token = app.token("wrk").await;
    // Default: 20/s sustained, a burst of 100. 400 requests cannot all pass
    // unless they take over 15 s, far beyond this machine's worst case.
    let mut refused = 0;
    for _ in 0..400 {
        if unread_count(&app, &token).await.status() == 429 {
            refused += 1;
        }
    }
    assert!(refused > 0, "a 400-request flood was never limited");
}

on_both!(the_default_user_limit_refuses_a_flood);

async fn user_limits_are_off_when_the_rate_is_zero(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.rate_limit.user_per_sec = 0;
        s.rate_limit.user_burst = 1;
    })
    .await
    else {
        return;
    };
    let token = app.token("bench").await;
    for _ in 0..150 {
        let res = unread_count(&app, &token).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("ratelimit").is_none());
    }
}

on_both!(user_limits_are_off_when_the_rate_is_zero);

async fn api_keys_are_unlimited_by_default(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.rate_limit.user_burst = 1).await else {
        return;
    };
    for _ in 0..150 {
        let res = app
            .admin(Method::GET, "/api/v1/users/svc")
            .send()
            .await
            .unwrap();
        assert_ne!(res.status(), 429);
        assert!(res.headers().get("ratelimit").is_none());
    }
}

on_both!(api_keys_are_unlimited_by_default);

/// A stored `send` key, created in the app's database as the CLI does.
async fn stored_send_key(app: &TestApp) -> String {
    let db = herald::persistence::connect(&app.database_url)
        .await
        .expect("database");
    let key = herald::auth::generate_api_key();
    herald::persistence::api_keys::create(&db, "svc", &key.prefix, &key.hash, &["send".into()])
        .await
        .expect("key row");
    key.plaintext
}

async fn an_api_key_past_its_burst_gets_429_and_other_keys_keep_their_own_bucket(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.rate_limit.api_key_per_sec = 1;
        s.rate_limit.api_key_burst = BURST;
    })
    .await
    else {
        return;
    };
    let other = stored_send_key(&app).await;
    let send = |key: String| {
        let req = app
            .client
            .post(app.url("/api/v1/send"))
            .bearer_auth(key)
            .json(&json!({"user_id": "target", "title": "t", "body": "b"}));
        async move { req.send().await.expect("send") }
    };
    let refused = exhaust(|| send(app.admin_key.clone())).await;
    assert_limited(refused, "api_key", BURST, u64::from(BURST)).await;
    let res = send(other.clone()).await;
    assert_eq!(res.status(), 202);
    assert!(header(&res, "ratelimit").starts_with(&format!("\"api_key\";r={};", BURST - 1)));
}

on_both!(an_api_key_past_its_burst_gets_429_and_other_keys_keep_their_own_bucket);

async fn test_notifications_beyond_the_hourly_quota_get_429(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.rate_limit.test_per_user_per_hour = 2).await
    else {
        return;
    };
    let (eager, other) = (app.token("eager").await, app.token("other").await);
    let test = |token: &str| {
        app.as_user(token, Method::POST, "/api/v1/notifications/test")
            .send()
    };
    for _ in 0..2 {
        assert_eq!(test(&eager).await.unwrap().status(), 202);
    }
    let refused = test(&eager).await.unwrap();
    let retry: u64 = header(&refused, "retry-after").parse().unwrap();
    // Two an hour: the next one fits half an hour after the first.
    assert!((1..=1800).contains(&retry), "Retry-After {retry}");
    assert_limited(refused, "test", 2, 3600).await;
    assert_eq!(test(&other).await.unwrap().status(), 202);
    let (_, feed) = app.get_json(&eager, "/api/v1/notifications").await;
    assert_eq!(
        feed["items"].as_array().unwrap().len(),
        2,
        "the refused one was not stored"
    );
}

on_both!(test_notifications_beyond_the_hourly_quota_get_429);

async fn the_push_throttle_applies_to_send_as_well_as_to_events(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.push_per_user_per_hour = 2).await else {
        return;
    };
    let push = |n: u32| {
        app.send(json!({"user_id": "buzzing", "title": format!("push {n}"), "body": "b", "channels": ["in_app", "push"]}))
    };
    for n in 1..=2 {
        let body: Value = push(n).await.json().await.unwrap();
        assert_eq!(body["channels"]["push"], "queued", "{body}");
    }
    let res = push(3).await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["channels"]["push"], "throttled", "{body}");
    assert_eq!(
        body["channels"]["in_app"], "accepted",
        "only push is throttled"
    );
    let other: Value = app
        .send(json!({"user_id": "calm", "title": "t", "body": "b", "channels": ["push"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        other["channels"]["push"], "queued",
        "the throttle is per user"
    );
}

on_both!(the_push_throttle_applies_to_send_as_well_as_to_events);

/// Each path with the methods it serves, in registration order.
const PATHS: &[(&str, &str)] = &[
    ("/api/v1/notifications/mark-read", "POST, OPTIONS"),
    ("/api/v1/notifications/delete", "POST, OPTIONS"),
    ("/api/v1/notifications/mark-all-read", "POST, OPTIONS"),
    ("/api/v1/notifications/test", "POST, OPTIONS"),
    ("/api/v1/notifications/unread-count", "GET, OPTIONS"),
    ("/api/v1/notifications", "GET, OPTIONS"),
    (
        "/api/v1/notifications/0190c6a0-0000-7000-8000-000000000000",
        "GET, DELETE, OPTIONS",
    ),
    (
        "/api/v1/notifications/0190c6a0-0000-7000-8000-000000000000/read",
        "POST, OPTIONS",
    ),
    (
        "/api/v1/notifications/0190c6a0-0000-7000-8000-000000000000/unread",
        "POST, OPTIONS",
    ),
    ("/api/v1/send", "POST, OPTIONS"),
    ("/api/v1/ws", "GET, OPTIONS"),
    ("/health", "GET, OPTIONS"),
    ("/ready", "GET, OPTIONS"),
    ("/metrics", "GET, OPTIONS"),
];

async fn options_answers_each_paths_own_methods(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    for (path, allow) in PATHS {
        let res = app
            .client
            .request(Method::OPTIONS, app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 204, "OPTIONS {path}");
        assert_eq!(header(&res, "allow"), *allow, "OPTIONS {path}");
    }
}

on_both!(options_answers_each_paths_own_methods);

async fn trace_and_other_wrong_methods_get_405_with_each_paths_own_allow(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let token = app.token("prober").await;
    for (path, allow) in PATHS {
        let wrong = if allow.starts_with("GET") {
            Method::PUT
        } else {
            Method::GET
        };
        for method in [Method::TRACE, wrong] {
            let res = app
                .as_user(&token, method.clone(), path)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 405, "{method} {path}");
            assert_eq!(header(&res, "allow"), *allow, "{method} {path}");
            let body: Value = res.json().await.expect("405 body is JSON");
            assert_eq!(
                body["error"]["code"], "method_not_allowed",
                "{method} {path}"
            );
        }
    }
}

on_both!(trace_and_other_wrong_methods_get_405_with_each_paths_own_allow);
