use super::{delete, pending, send};
use crate::helpers::{assert_silent, next_of_type, wait_for, TestApp};
use crate::on_both_databases;
use serde_json::json;
use std::time::Duration;

async fn a_delayed_send_arrives_at_its_time_and_nothing_exists_before(app: TestApp) {
    let user = "later-user";
    let token = app.token(user).await;
    let (mut ws, _) = app.ws(&token, None).await;
    let (status, v) = send(
        &app,
        json!({"user_id": user, "title": "soon", "delay": "2s", "request_id": "r-delay"}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    assert_eq!(v["status"], "scheduled");
    assert_eq!(v["request_id"], "r-delay");
    assert!(v["id"].is_string() && v["send_at"].is_string(), "{v}");
    let due: chrono::DateTime<chrono::Utc> = v["send_at"].as_str().unwrap().parse().unwrap();

    // A repeat gets the original row and stores nothing new.
    let (status, again) = send(
        &app,
        json!({"user_id": user, "title": "soon", "delay": "2s", "request_id": "r-delay"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(
        (again["id"].clone(), again["duplicate"].clone()),
        (v["id"].clone(), json!(true))
    );

    let list = pending(&app, user).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["items"][0]["status"], "pending");

    assert_silent(&mut ws, Duration::from_millis(1200)).await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"], json!([]), "no notification before its time");

    let frame = tokio::time::timeout(
        Duration::from_secs(8),
        next_of_type(&mut ws, "notification"),
    )
    .await
    .expect("the scheduled notification within 8 s");
    assert_eq!(frame["notification"]["title"], "soon");
    assert!(chrono::Utc::now() >= due, "arrived before its time");
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(
        page["items"].as_array().map(Vec::len),
        Some(1),
        "sent exactly once"
    );
    let list = pending(&app, user).await;
    assert_eq!(list["items"], json!([]), "nothing pending once sent");
}

async fn a_cancelled_send_never_arrives_and_a_sent_one_cannot_be_cancelled(app: TestApp) {
    let user = "cancel-user";
    let token = app.token(user).await;
    let (mut ws, _) = app.ws(&token, None).await;
    let (status, v) = send(
        &app,
        json!({"user_id": user, "title": "never", "delay": "1s", "request_id": "r-cancel"}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let (status, c) = delete(&app, &format!("/api/v1/scheduled/r-cancel?user_id={user}")).await;
    assert_eq!(
        (status, c["status"].clone()),
        (200, json!("cancelled")),
        "{c}"
    );
    // Cancelling again answers the same; by id too.
    let id = v["id"].as_str().unwrap();
    let (status, _) = delete(&app, &format!("/api/v1/scheduled/by-id/{id}")).await;
    assert_eq!(status, 200);
    assert_silent(&mut ws, Duration::from_millis(2500)).await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"], json!([]), "a cancelled send never goes out");

    let (status, v) = send(
        &app,
        json!({"user_id": user, "title": "goes", "delay": "1s", "request_id": "r-sent"}),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    next_of_type(&mut ws, "notification").await;
    let path = format!("/api/v1/scheduled/r-sent?user_id={user}");
    wait_for("the row to be marked sent", 5, || async {
        delete(&app, &path).await.0 == 409
    })
    .await;
    let (_, e) = delete(&app, &path).await;
    assert_eq!(e["error"]["code"], "scheduled_send_already_sent", "{e}");

    let (status, e) = delete(&app, "/api/v1/scheduled/nope?user_id=cancel-user").await;
    assert_eq!(
        (status, e["error"]["code"].clone()),
        (404, json!("not_found")),
        "{e}"
    );
    let (status, e) = delete(&app, "/api/v1/scheduled/by-id/not-a-uuid").await;
    assert_eq!(status, 422, "{e}");
    // Another user's request id names nothing of theirs.
    let (status, _) = delete(&app, "/api/v1/scheduled/r-sent?user_id=someone-else").await;
    assert_eq!(status, 404);
}

async fn bad_send_at_and_delay_are_refused_and_a_past_time_sends_at_once(app: TestApp) {
    let user = "timing-user";
    let far = (chrono::Utc::now() + chrono::Duration::days(31)).to_rfc3339();
    for body in [
        json!({"user_id": user, "title": "t", "delay": "1m", "send_at": "2030-01-01T00:00:00Z"}),
        json!({"user_id": user, "title": "t", "send_at": "tomorrow"}),
        json!({"user_id": user, "title": "t", "delay": "15"}),
        json!({"user_id": user, "title": "t", "delay": "0s"}),
        json!({"user_id": user, "title": "t", "send_at": far}),
        json!({"user_id": user, "title": "t", "delay": "31d"}),
    ] {
        let (status, e) = send(&app, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {e}");
        assert_eq!(e["error"]["code"], "invalid_schedule", "{e}");
        assert!(e["error"]["message"].is_string());
    }
    let (status, e) = send(
        &app,
        json!({"user_id": user, "template_code": "missing", "delay": "1m"}),
    )
    .await;
    assert_eq!(
        (status, e["error"]["code"].clone()),
        (422, json!("template_not_found"))
    );
    let (status, v) = send(
        &app,
        json!({"user_id": user, "title": "now", "send_at": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(v["status"], "accepted", "a past time sends at once: {v}");
    assert!(v["notification_id"].is_string());
}

on_both_databases!(
    a_delayed_send_arrives_at_its_time_and_nothing_exists_before,
    a_cancelled_send_never_arrives_and_a_sent_one_cannot_be_cancelled,
    bad_send_at_and_delay_are_refused_and_a_past_time_sends_at_once,
);
