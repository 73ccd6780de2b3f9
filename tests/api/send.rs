use crate::helpers::TestApp;
use crate::on_both_databases;
use serde_json::{json, Value};

async fn a_sent_notification_is_stored_with_every_field(app: TestApp) {
    let res = app
        .send(json!({
            "user_id": "user_123", "title": "Booking confirmed", "body": "Inception, 8 PM",
            "category": "booking", "priority": "high", "action_url": "/bookings/BOOK-789012",
            "data": {"booking_id": "BOOK-789012"}, "request_id": "req-1"
        }))
        .await;
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["request_id"], "req-1");
    assert_eq!(body["seq"], 1);
    let token = app.token("user_123").await;
    let (status, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(status, 200);
    let item = &page["items"][0];
    assert_eq!(item["id"], body["notification_id"]);
    assert_eq!(item["title"], "Booking confirmed");
    assert_eq!(item["category"], "booking");
    assert_eq!(item["priority"], "high");
    assert_eq!(item["action_url"], "/bookings/BOOK-789012");
    assert_eq!(item["data"]["booking_id"], "BOOK-789012");
    assert_eq!(item["read_at"], Value::Null);
    assert_eq!(page["unread_count"], 1);
}

async fn seed_002_bodies_with_integer_priority_and_metadata_are_accepted(app: TestApp) {
    let res = app
        .send(json!({
            "notification_type": "in_app", "user_id": "u-seed", "body": "Your code is ready",
            "request_id": "seed-1", "priority": 9, "metadata": {"title": "Hi there", "campaign": "c1"}
        }))
        .await;
    assert_eq!(res.status(), 202);
    let token = app.token("u-seed").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"][0]["title"], "Hi there");
    assert_eq!(page["items"][0]["priority"], "critical");
    assert_eq!(page["items"][0]["data"]["campaign"], "c1");
}

async fn a_repeated_request_id_returns_the_same_notification(app: TestApp) {
    let body = json!({"user_id": "u1", "title": "once", "request_id": "dup-1"});
    let first: Value = app.send(body.clone()).await.json().await.unwrap();
    let second: Value = app.send(body).await.json().await.unwrap();
    assert_eq!(first["notification_id"], second["notification_id"]);
    assert_eq!(second["duplicate"], true);
    let token = app.token("u1").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

async fn concurrent_sends_with_one_request_id_create_one_notification(app: TestApp) {
    let body = json!({"user_id": "racer", "title": "race", "request_id": "same"});
    let sends = (0..16).map(|_| app.send(body.clone()));
    let responses = futures_util::future::join_all(sends).await;
    let mut ids = std::collections::HashSet::new();
    for r in responses {
        assert_eq!(r.status(), 202);
        let v: Value = r.json().await.unwrap();
        ids.insert(v["notification_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1, "every response names the same notification");
    let token = app.token("racer").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
}

async fn concurrent_sends_to_one_user_get_gap_free_seqs(app: TestApp) {
    let sends = (0..30).map(|i| app.send(json!({"user_id": "busy", "title": format!("n{i}")})));
    for r in futures_util::future::join_all(sends).await {
        assert_eq!(r.status(), 202);
    }
    let token = app.token("busy").await;
    let (_, page) = app
        .get_json(&token, "/api/v1/notifications?limit=100")
        .await;
    let mut seqs: Vec<i64> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["seq"].as_i64().unwrap())
        .collect();
    seqs.sort();
    assert_eq!(seqs, (1..=30).collect::<Vec<_>>());
}

async fn a_disabled_in_app_channel_suppresses_the_notification(app: TestApp) {
    let res = app
        .admin(reqwest::Method::PUT, "/api/v1/users/quiet/preferences")
        .json(&json!({"channels": {"in_app": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = app
        .send(json!({"user_id": "quiet", "title": "hello"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "suppressed");
    assert_eq!(body["notification_id"], Value::Null);
    assert_eq!(body["channels"]["in_app"], "suppressed");
    let token = app.token("quiet").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert!(page["items"].as_array().unwrap().is_empty());
}

async fn a_disabled_category_suppresses_only_that_category(app: TestApp) {
    let token = app.token("cat").await;
    let (status, _) = app
        .as_user(&token, reqwest::Method::PATCH, "/api/v1/preferences")
        .json(&json!({"categories": {"marketing": {"in_app": false}}}))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 200);
    let promo: Value = app
        .send(json!({"user_id": "cat", "title": "sale", "category": "marketing"}))
        .await
        .json()
        .await
        .unwrap();
    let booking: Value = app
        .send(json!({"user_id": "cat", "title": "booked", "category": "booking"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(promo["status"], "suppressed");
    assert_eq!(booking["status"], "accepted");
}

async fn other_channels_are_queued_or_skipped_for_lack_of_an_address(app: TestApp) {
    let body: Value = app
        .send(json!({"user_id": "multi", "title": "t", "channels": ["in_app", "email", "sms", "webhook"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["channels"]["in_app"], "accepted");
    assert_eq!(body["channels"]["email"], "skipped", "no email address yet");
    assert_eq!(body["channels"]["webhook"], "unavailable");
    app.admin(reqwest::Method::PUT, "/api/v1/users/multi")
        .json(&json!({"email": "m@example.com"}))
        .send()
        .await
        .unwrap();
    let body: Value = app
        .send(json!({"user_id": "multi", "title": "Hello", "body": "Plain text", "channels": ["email"], "request_id": "mail-1"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["channels"]["email"], "queued");
    assert_eq!(
        body["notification_id"],
        Value::Null,
        "no in-app notification was asked for"
    );
    let outbox = app.data_dir.path().join("outbox");
    for _ in 0..100 {
        if std::fs::read_dir(&outbox)
            .map(|d| d.count() > 0)
            .unwrap_or(false)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let file = std::fs::read_dir(&outbox).unwrap().next().unwrap().unwrap();
    let raw = std::fs::read_to_string(file.path()).unwrap();
    assert!(
        raw.contains("Subject: Hello")
            && raw.contains("To: m@example.com")
            && raw.contains("Plain text")
    );
}

async fn an_unknown_template_code_is_answered_with_a_clear_422(app: TestApp) {
    let res = app
        .send(json!({"user_id": "u", "template_code": "welcome", "variables": {"name": "A"}}))
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "template_not_found");
}

on_both_databases!(
    a_sent_notification_is_stored_with_every_field,
    seed_002_bodies_with_integer_priority_and_metadata_are_accepted,
    a_repeated_request_id_returns_the_same_notification,
    concurrent_sends_with_one_request_id_create_one_notification,
    concurrent_sends_to_one_user_get_gap_free_seqs,
    a_disabled_in_app_channel_suppresses_the_notification,
    a_disabled_category_suppresses_only_that_category,
    other_channels_are_queued_or_skipped_for_lack_of_an_address,
    an_unknown_template_code_is_answered_with_a_clear_422,
);
