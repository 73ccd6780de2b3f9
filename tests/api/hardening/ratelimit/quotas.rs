//! The hourly quota on test notifications, and the push throttle on `/send`.

use super::{assert_limited, header};
use crate::helpers::{spawn_app_with, Backend};
use crate::on_both;
use reqwest::Method;
use serde_json::{json, Value};

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
