//! Who may open a stream, and how many.

use super::client::{open, request};
use crate::helpers::{spawn_app, spawn_app_with, Backend};
use crate::on_both;
use serde_json::Value;

async fn a_bad_or_missing_token_is_refused_with_401_json(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let res = request(&app, "not-a-jwt", None, None).await;
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.expect("json error");
    assert!(body["error"]["code"].is_string(), "{body}");
    let res = app
        .client
        .get(app.url("/api/v1/sse"))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 401);
}

async fn a_malformed_resume_point_is_refused_with_400(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let token = app.token("sse-bad").await;
    let res = request(&app, &token, Some("-3"), None).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_since");
    let res = request(&app, &token, None, Some("abc")).await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_last_event_id");
}

async fn streams_count_toward_the_users_session_cap_and_a_dropped_one_gives_its_slot_back(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, |s| s.ws.max_sessions_per_user = 1).await else {
        return;
    };
    let token = app.token("sse-capped").await;
    let (stream, _) = open(&app, &token, None, None).await;
    let res = request(&app, &token, None, None).await;
    assert_eq!(res.status(), 429);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "too_many_sessions");
    // The same cap as the WebSocket: the upgrade is refused before it starts.
    let ws = app
        .client
        .get(app.url(&format!("/api/v1/ws?token={token}")))
        .send()
        .await
        .expect("ws request");
    assert_eq!(ws.status(), 429);
    // The client goes away. The server notices when a heartbeat cannot be
    // written (the first write after the peer left may still succeed), so
    // within two heartbeats, and releases the slot.
    drop(stream);
    let bound = herald::realtime::SSE_HEARTBEAT * 3;
    for _ in 0..bound.as_millis() / 100 {
        let res = request(&app, &token, None, None).await;
        if res.status() == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the dropped stream's slot never came back");
}

on_both!(
    a_bad_or_missing_token_is_refused_with_401_json,
    a_malformed_resume_point_is_refused_with_400,
    streams_count_toward_the_users_session_cap_and_a_dropped_one_gives_its_slot_back,
);
