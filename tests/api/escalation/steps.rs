//! The steps of an escalation: run while unread, cancelled by a read, shown in the audit.

use super::{app_with_fcm, audit, escalating_rule, post};
use crate::helpers::{next_of_type, wait_for, Backend};
use crate::on_both;
use serde_json::json;
use std::time::Duration;

async fn an_unread_notification_escalates_to_push_after_its_delay(backend: Backend) {
    let Some((app, fcm, _oauth)) = app_with_fcm(backend).await else {
        return;
    };
    escalating_rule(&app, "dora", "2s").await;
    let (s, bad) = post(
        &app,
        "/api/v1/rules",
        json!({"name": "bad", "event_pattern": "door.open", "channels": ["in_app"],
               "template_code": "alarm",
               "escalation": [{"after": "1h", "channels": ["push"]}, {"after": "10m", "channels": ["email"]}]}),
    )
    .await;
    assert_eq!(s, 422, "{bad}");
    let token = app.token("dora").await;
    let (mut ws, _) = app.ws(&token, None).await;
    let event =
        json!({"event_id": "door-1", "event_type": "door.open", "user_id": "dora", "door": "back"});
    let (s, out) = post(&app, "/api/v1/events", event).await;
    assert_eq!(
        (s, out["status"].clone()),
        (202, json!("processed")),
        "{out}"
    );
    let f = next_of_type(&mut ws, "notification").await;
    assert_eq!(f["notification"]["title"], "Door open");
    let shown = audit(&app, "door-1").await;
    let planned = shown["outcome"]["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r.get("escalation").is_some()))
        .map(|r| r["escalation"][0]["channels"].clone());
    assert_eq!(planned, Some(json!(["push"])), "{shown}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(fcm.recorded().is_empty(), "no push before the step is due");
    wait_for("the escalated push", 10, || async {
        !fcm.recorded().is_empty()
    })
    .await;
    let sent = fcm.recorded();
    let msg: serde_json::Value = serde_json::from_str(&sent[0].body).expect("fcm json");
    assert_eq!(msg["message"]["token"], "fcm-dora");
    assert_eq!(msg["message"]["notification"]["title"], "Door still open");
    wait_for("the step in the audit", 5, || async {
        audit(&app, "door-1").await["outcome"]["escalation"][0]["status"] == "ran"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fcm.recorded().len(), 1, "the step runs once");
}

on_both!(an_unread_notification_escalates_to_push_after_its_delay);

async fn a_read_before_the_delay_cancels_the_push(backend: Backend) {
    let Some((app, fcm, _oauth)) = app_with_fcm(backend).await else {
        return;
    };
    escalating_rule(&app, "rita", "2s").await;
    let token = app.token("rita").await;
    let (mut ws, _) = app.ws(&token, None).await;
    let event = json!({"event_id": "door-2", "event_type": "door.open", "user_id": "rita", "door": "front"});
    let (s, out) = post(&app, "/api/v1/events", event).await;
    assert_eq!(s, 202, "{out}");
    let f = next_of_type(&mut ws, "notification").await;
    let id = f["notification"]["id"].as_str().expect("notification id");
    let (s, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{id}/read"),
            json!({}),
        )
        .await;
    assert!(s < 300, "{s} {v}");
    wait_for("the cancelled step in the audit", 10, || async {
        let step = &audit(&app, "door-2").await["outcome"]["escalation"][0];
        step["status"] == "cancelled" && step["reason"] == "read"
    })
    .await;
    assert!(fcm.recorded().is_empty(), "a read cancels the push");
}

on_both!(a_read_before_the_delay_cancels_the_push);

async fn a_user_with_no_open_session_is_escalated_at_once(backend: Backend) {
    let Some((app, fcm, _oauth)) = app_with_fcm(backend).await else {
        return;
    };
    escalating_rule(&app, "otto", "1h").await;
    let event =
        json!({"event_id": "door-3", "event_type": "door.open", "user_id": "otto", "door": "side"});
    let (s, out) = post(&app, "/api/v1/events", event).await;
    assert_eq!(s, 202, "{out}");
    // The step is an hour away; offline, it runs at once.
    wait_for("the push at once", 10, || async {
        !fcm.recorded().is_empty()
    })
    .await;
    wait_for("the step in the audit", 5, || async {
        let step = &audit(&app, "door-3").await["outcome"]["escalation"][0];
        step["status"] == "ran" && step["reason"] == "offline"
    })
    .await;
}

on_both!(a_user_with_no_open_session_is_escalated_at_once);
