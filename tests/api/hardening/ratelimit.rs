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

mod allow;
mod quotas;

const BURST: u32 = 5;
const EXTRA: usize = 50;

pub(super) fn header(res: &Response, name: &str) -> String {
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

pub(super) async fn assert_limited(res: Response, policy: &str, quota: u32, window: u64) -> Value {
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
