//! Rules whose recipient is a topic: a matching event records one durable
//! fan-out with its guard, and the runner reaches every subscriber once.

use super::{call, get, topic_with};
use crate::helpers::{assert_silent, next_of_type, wait_for, TestApp, Ws};
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A template and a rule sending it to the topic `topic` on `pattern` events.
async fn topic_rule(app: &TestApp, code: &str, pattern: &str, topic: &str) {
    let (status, body) = call(
        app,
        Method::POST,
        "/api/v1/templates",
        json!({"code": code, "in_app": {"title": "{{ film }} at venue {{ venue_id }}", "body": "Tickets on sale"}}),
    )
    .await;
    assert_eq!(status, 201, "template: {body}");
    let rule = json!({"name": code, "event_pattern": pattern, "channels": ["in_app"],
                      "template_code": code, "recipient": {"topic": topic}});
    let (status, body) = call(app, Method::POST, "/api/v1/rules", rule).await;
    assert_eq!(status, 201, "rule: {body}");
}

async fn sockets(app: &TestApp, users: &[&str]) -> Vec<Ws> {
    let mut out = vec![];
    for u in users {
        let token = app.token(u).await;
        out.push(app.ws(&token, None).await.0);
    }
    out
}

async fn post_event(app: &TestApp, event: &Value) -> (u16, Value) {
    call(app, Method::POST, "/api/v1/events", event.clone()).await
}

async fn an_event_matching_a_topic_rule_reaches_each_subscriber_of_the_rendered_topic_once(
    app: TestApp,
) {
    let fans = ["fan-a", "fan-b", "fan-c", "fan-d"];
    let owned = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    topic_with(&app, "venue.7", &owned(&fans)).await;
    topic_with(&app, "venue.8", &owned(&["elsewhere"])).await;
    topic_rule(&app, "showtime", "showtime.*", "venue.{{ venue_id }}").await;
    let mut fan_ws = sockets(&app, &fans).await;
    let mut other_ws = sockets(&app, &["elsewhere"]).await;

    let event = json!({"event_id": "show-1", "event_type": "showtime.added", "venue_id": 7, "film": "Dune"});
    let (status, out) = post_event(&app, &event).await;
    assert_eq!(status, 202, "{out}");
    let audit = get(&app, "/api/v1/events/show-1").await.1;
    let entry = &audit["outcome"]["rules"][0];
    assert_eq!(entry["topic"], "venue.7", "{audit}");
    let fanout = entry["fanout_id"].as_str().expect("fan-out id").to_string();

    let path = format!("/api/v1/topics/venue.7/sends/{fanout}");
    wait_for("the rule's fan-out to finish", 60, || async {
        get(&app, &path).await.1["status"] == "done"
    })
    .await;
    let done = get(&app, &path).await.1;
    assert_eq!(
        (&done["processed"], &done["notified"]),
        (&json!(4), &json!(4)),
        "{done}"
    );
    for ws in &mut fan_ws {
        let frame = next_of_type(ws, "notification").await;
        assert_eq!(frame["notification"]["title"], "Dune at venue 7", "{frame}");
    }

    // The same event again is a duplicate: no second fan-out, no second frame.
    let (status, again) = post_event(&app, &event).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["status"], "duplicate", "{again}");
    for ws in fan_ws.iter_mut().chain(other_ws.iter_mut()) {
        assert_silent(ws, Duration::from_millis(1500)).await;
    }
}

async fn a_topic_rule_that_reaches_no_topic_dead_letters_the_event_with_the_reason(app: TestApp) {
    topic_rule(&app, "venue_news", "venue.news", "venue.{{ venue_id }}").await;
    let cases = [
        ("n-unknown", json!(404), "unknown topic 'venue.404'"),
        ("n-bad-key", json!("a b"), "topic 'venue.a b' rendered from"),
    ];
    for (event_id, venue, reason) in cases {
        let event = json!({"event_id": event_id, "event_type": "venue.news", "venue_id": venue, "film": "x"});
        let (status, err) = post_event(&app, &event).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["error"]["code"], "event_rejected", "{err}");
        let a = get(&app, &format!("/api/v1/events/{event_id}")).await.1;
        assert_eq!(a["status"], "dead_lettered", "{a}");
        let recorded = a["outcome"]["reason"].as_str().expect("reason");
        assert!(recorded.contains(reason), "{event_id}: {a}");
    }
}

async fn a_missing_topic_beside_a_rule_that_sent_is_only_recorded_in_the_audit(app: TestApp) {
    topic_rule(&app, "lost", "venue.closed", "venue.{{ venue_id }}").await;
    let rule = json!({"name": "owner", "event_pattern": "venue.closed", "channels": ["in_app"],
                      "template_code": "lost"});
    let (status, body) = call(&app, Method::POST, "/api/v1/rules", rule).await;
    assert_eq!(status, 201, "rule: {body}");
    let mut ws = sockets(&app, &["owner-1"]).await;
    let event = json!({"event_id": "c-1", "event_type": "venue.closed", "venue_id": 9,
                       "user_id": "owner-1", "film": "x"});
    let (status, out) = post_event(&app, &event).await;
    assert_eq!(status, 202, "{out}");
    let a = get(&app, "/api/v1/events/c-1").await.1;
    assert_eq!(a["status"], "processed", "{a}");
    let rules = a["outcome"]["rules"].as_array().expect("rules").clone();
    assert!(
        rules
            .iter()
            .any(|r| r["topic_error"] == "unknown topic 'venue.9'"),
        "{a}"
    );
    next_of_type(&mut ws[0], "notification").await;
}

async fn a_rule_naming_a_topic_badly_is_refused_with_422(app: TestApp) {
    let base =
        json!({"name": "r", "event_pattern": "x.y", "channels": ["in_app"], "template_code": "t"});
    let bodies = [
        json!({"topic": "venue.1", "user_id": "owner"}),
        json!({"topic": "venue.{{ id"}),
        json!({"topic": "not a key"}),
    ];
    for recipient in bodies {
        let mut rule = base.clone();
        rule["recipient"] = recipient.clone();
        let (status, err) = call(&app, Method::POST, "/api/v1/rules", rule).await;
        assert_eq!(status, 422, "{recipient}: {err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("recipient.topic"),
            "{err}"
        );
    }
    // Not a string: the body itself is refused before the rule is read.
    let mut typed = base.clone();
    typed["recipient"] = json!({"topic": 7});
    let (status, err) = call(&app, Method::POST, "/api/v1/rules", typed).await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (422, &json!("invalid_body")),
        "{err}"
    );
    let mut delayed = base.clone();
    delayed["recipient"] = json!({"topic": "venue.1"});
    delayed["delay"] = json!("15m");
    let (status, err) = call(&app, Method::POST, "/api/v1/rules", delayed).await;
    assert_eq!(status, 422, "{err}");
}

on_both_databases!(
    an_event_matching_a_topic_rule_reaches_each_subscriber_of_the_rendered_topic_once,
    a_topic_rule_that_reaches_no_topic_dead_letters_the_event_with_the_reason,
    a_missing_topic_beside_a_rule_that_sent_is_only_recorded_in_the_audit,
    a_rule_naming_a_topic_badly_is_refused_with_422,
);
