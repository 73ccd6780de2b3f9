//! Frames arrive as events, and a resume misses nothing.

use super::client::open;
use crate::helpers::TestApp;
use crate::on_both_databases;
use serde_json::json;
use std::time::Duration;

async fn notifications_and_read_frames_arrive_as_events_named_by_type(app: TestApp) {
    let token = app.token("sse-live").await;
    let (mut stream, hello) = open(&app, &token, None, None).await;
    assert!(stream.content_type().starts_with("text/event-stream"));
    assert_eq!(hello.data["user_id"], "sse-live");
    assert_eq!(hello.data["last_seq"], 0);
    let sent = app.notify("sse-live", "over sse").await;
    let n = stream.next().await;
    assert_eq!(n.event, "notification");
    assert_eq!(n.id.as_deref(), Some("1"));
    assert_eq!(n.data["type"], "notification");
    assert_eq!(n.data["notification"]["id"], sent["notification_id"]);
    assert_eq!(n.data["notification"]["title"], "over sse");
    let id = sent["notification_id"].as_str().expect("id");
    let (status, _) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let read = stream.next().await;
    assert_eq!(read.event, "read");
    assert_eq!(read.id, None, "only frames with a seq carry an id");
    assert_eq!(read.data["ids"], json!([id]));
    assert_eq!(read.data["unread_count"], 0);
}

async fn a_reconnect_with_last_event_id_replays_exactly_what_was_missed(app: TestApp) {
    let token = app.token("sse-resume").await;
    let (mut stream, _) = open(&app, &token, None, None).await;
    app.notify("sse-resume", "seen live").await;
    let last = stream.next_of("notification").await.id.expect("id");
    drop(stream);
    for t in ["away 1", "away 2", "away 3"] {
        app.notify("sse-resume", t).await;
    }
    let (mut back, hello) = open(&app, &token, None, Some(&last)).await;
    assert_eq!(hello.data["recovered"], true);
    assert_eq!(
        hello.id.as_deref(),
        Some("1"),
        "hello keeps the resume point"
    );
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let e = back.next_of("notification").await;
        replayed.push((e.id.expect("id"), e.data["notification"]["title"].clone()));
    }
    assert_eq!(
        replayed,
        vec![
            ("2".to_string(), json!("away 1")),
            ("3".to_string(), json!("away 2")),
            ("4".to_string(), json!("away 3")),
        ]
    );
    app.notify("sse-resume", "live again").await;
    let live = back.next_of("notification").await;
    assert_eq!(
        live.id.as_deref(),
        Some("5"),
        "nothing twice, nothing skipped"
    );
}

async fn since_resumes_like_last_event_id_and_the_header_wins_over_it(app: TestApp) {
    let token = app.token("sse-since").await;
    for t in ["one", "two", "three"] {
        app.notify("sse-since", t).await;
    }
    let (mut by_query, hello) = open(&app, &token, Some("1"), None).await;
    assert_eq!(hello.data["recovered"], true);
    assert_eq!(by_query.next().await.id.as_deref(), Some("2"));
    assert_eq!(by_query.next().await.id.as_deref(), Some("3"));
    // A browser's own reconnect keeps the URL's `since` and adds the newer header.
    let (mut both, _) = open(&app, &token, Some("0"), Some("2")).await;
    let e = both.next().await;
    assert_eq!(e.id.as_deref(), Some("3"));
    assert_eq!(e.data["notification"]["title"], "three");
    assert!(
        both.next_within(Duration::from_millis(300)).await.is_none(),
        "nothing before the header's seq is replayed"
    );
}

async fn one_users_stream_never_carries_another_users_frames(app: TestApp) {
    let (alice, bob) = (app.token("sse-alice").await, app.token("sse-bob").await);
    let (mut a, _) = open(&app, &alice, None, None).await;
    let (mut b, _) = open(&app, &bob, None, Some("0")).await;
    app.notify("sse-bob", "for bob only").await;
    let for_bob = b.next_of("notification").await;
    assert_eq!(for_bob.data["notification"]["title"], "for bob only");
    app.notify("sse-alice", "for alice").await;
    // Alice's next frame is her own: bob's, published before it, never reached her stream.
    let first = a.next().await;
    assert_eq!(first.event, "notification");
    assert_eq!(first.data["notification"]["title"], "for alice");
    assert_eq!(first.id.as_deref(), Some("1"), "alice's own first seq");
}

on_both_databases!(
    notifications_and_read_frames_arrive_as_events_named_by_type,
    a_reconnect_with_last_event_id_replays_exactly_what_was_missed,
    since_resumes_like_last_event_id_and_the_header_wins_over_it,
    one_users_stream_never_carries_another_users_frames,
);
