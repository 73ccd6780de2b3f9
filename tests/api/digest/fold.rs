use super::{audit, digest_rule, feed, publish};
use crate::helpers::{assert_silent, next_of_type, wait_for, TestApp};
use crate::on_both_databases;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

on_both_databases!(
    five_matching_events_in_a_window_become_one_notification_listing_them,
    a_critical_event_bypasses_the_digest,
    events_with_different_keys_make_different_notifications,
    a_bucket_at_max_items_flushes_before_its_window_ends,
    a_users_window_from_preferences_overrides_the_rules,
);

async fn five_matching_events_in_a_window_become_one_notification_listing_them(app: TestApp) {
    digest_rule(&app, json!({"digest": {"window": "2s"}})).await;
    let token = app.token("dana").await;
    let (mut ws, _) = app.ws(&token, None).await;
    let mut ids = vec![];
    for n in 1..=5 {
        ids.push(publish(&app, "dana", json!({"n": n})).await);
    }
    assert_silent(&mut ws, Duration::from_millis(800)).await;
    let frame = next_of_type(&mut ws, "notification").await;
    let n = &frame["notification"];
    assert_eq!(n["title"], "5 updates");
    assert_eq!(n["body"], "1;2;3;4;5;", "items oldest first");
    assert_silent(&mut ws, Duration::from_millis(1500)).await;
    let items = feed(&app, "dana").await;
    assert_eq!(items.len(), 1, "one notification in the feed: {items:?}");
    assert_eq!(items[0]["id"], n["id"]);
    // Each folded event's audit names its bucket and, once flushed, the notification.
    let first = audit(&app, &ids[0]).await;
    let bucket = first["outcome"]["digests"][0]["bucket"].clone();
    assert!(bucket.is_string(), "{first}");
    assert_eq!(
        first["outcome"]["rules"][0]["held"]["digested"]["window"],
        "2s"
    );
    for id in &ids {
        let a = audit(&app, id).await;
        assert_eq!(a["outcome"]["digests"][0]["bucket"], bucket);
        assert_eq!(
            a["outcome"]["digest_flushes"][0]["notification_id"], n["id"],
            "{a}"
        );
        assert_eq!(a["outcome"]["digest_flushes"][0]["count"], 5);
    }
}

async fn a_critical_event_bypasses_the_digest(app: TestApp) {
    digest_rule(&app, json!({"digest": {"window": "1h"}})).await;
    let token = app.token("cai").await;
    let (mut ws, _) = app.ws(&token, None).await;
    publish(&app, "cai", json!({"n": 1})).await;
    let id = publish(&app, "cai", json!({"n": 2, "priority": "critical"})).await;
    let frame = next_of_type(&mut ws, "notification").await;
    assert_eq!(
        frame["notification"]["title"], "update 2",
        "sent at once, alone"
    );
    assert_silent(&mut ws, Duration::from_millis(500)).await;
    let a = audit(&app, &id).await;
    assert!(a["outcome"]["digests"].is_null(), "{a}");
    assert_eq!(feed(&app, "cai").await.len(), 1);
}

async fn events_with_different_keys_make_different_notifications(app: TestApp) {
    digest_rule(
        &app,
        json!({"digest": {"key": "booking.id", "window": "2s"}}),
    )
    .await;
    for (n, booking) in [(1, "A"), (2, "B"), (3, "A")] {
        publish(&app, "kim", json!({"n": n, "booking": {"id": booking}})).await;
    }
    wait_for("two digests", 8, || async {
        feed(&app, "kim").await.len() == 2
    })
    .await;
    let mut bodies: Vec<String> = feed(&app, "kim")
        .await
        .iter()
        .map(|n| n["body"].as_str().unwrap_or_default().to_string())
        .collect();
    bodies.sort();
    assert_eq!(bodies, ["1;3;", "2;"]);
}

async fn a_bucket_at_max_items_flushes_before_its_window_ends(app: TestApp) {
    digest_rule(&app, json!({"digest": {"window": "1h", "max_items": 3}})).await;
    let token = app.token("max").await;
    let (mut ws, _) = app.ws(&token, None).await;
    for n in 1..=4 {
        publish(&app, "max", json!({"n": n})).await;
    }
    let frame = next_of_type(&mut ws, "notification").await;
    assert_eq!(frame["notification"]["body"], "1;2;3;");
    // The fourth opened a new bucket, which waits for its hour.
    assert_silent(&mut ws, Duration::from_millis(1500)).await;
    assert_eq!(feed(&app, "max").await.len(), 1);
}

async fn a_users_window_from_preferences_overrides_the_rules(app: TestApp) {
    digest_rule(&app, json!({"digest": {"window": "1h"}})).await;
    let token = app.token("pia").await;
    for bad in [
        json!({"digest": {"updates": "soon"}}),
        json!({"digest": {"updates": "daily@25:00"}}),
        json!({"digest": ["updates"]}),
    ] {
        let res = app
            .as_user(&token, Method::PATCH, "/api/v1/preferences")
            .json(&bad)
            .send()
            .await
            .expect("patch");
        assert_eq!(res.status(), 422, "{bad}");
        let body: serde_json::Value = res.json().await.expect("error json");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let res = app
        .as_user(&token, Method::PATCH, "/api/v1/preferences")
        .json(&json!({"digest": {"updates": "2s", "marketing": "daily@08:00"}}))
        .send()
        .await
        .expect("patch");
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let (_, prefs) = app.get_json(&token, "/api/v1/preferences").await;
    assert_eq!(
        prefs["digest"],
        json!({"updates": "2s", "marketing": "daily@08:00"})
    );
    let (mut ws, _) = app.ws(&token, None).await;
    let id = publish(&app, "pia", json!({"n": 1})).await;
    publish(&app, "pia", json!({"n": 2})).await;
    let frame = next_of_type(&mut ws, "notification").await;
    assert_eq!(
        frame["notification"]["body"], "1;2;",
        "flushed after the user's 2s, not the rule's hour"
    );
    assert_eq!(
        audit(&app, &id).await["outcome"]["rules"][0]["held"]["digested"]["window"],
        "2s"
    );
}
