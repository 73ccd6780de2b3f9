use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

async fn the_feed_pages_newest_first_with_a_stable_cursor(app: TestApp) {
    for i in 0..25 {
        app.notify("pager", &format!("n{i}")).await;
    }
    let token = app.token("pager").await;
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/notifications?limit=10&cursor={c}"),
            None => "/api/v1/notifications?limit=10".into(),
        };
        let (status, page) = app.get_json(&token, &path).await;
        assert_eq!(status, 200);
        pages += 1;
        // A notification arriving between pages must not shift the cursor.
        if pages == 1 {
            app.notify("pager", "late").await;
        }
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["seq"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, (1..=25).rev().collect::<Vec<_>>());
}

async fn unread_only_and_category_filter_the_feed(app: TestApp) {
    let a = app.notify("filter", "a").await;
    app.send(json!({"user_id": "filter", "title": "b", "category": "billing"}))
        .await;
    let token = app.token("filter").await;
    app.post_json(
        &token,
        &format!(
            "/api/v1/notifications/{}/read",
            a["notification_id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let (_, unread) = app
        .get_json(&token, "/api/v1/notifications?unread_only=true")
        .await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 1);
    assert_eq!(unread["items"][0]["title"], "b");
    let (_, billing) = app
        .get_json(&token, "/api/v1/notifications?category=billing")
        .await;
    assert_eq!(billing["items"].as_array().unwrap().len(), 1);
    let (_, count) = app
        .get_json(&token, "/api/v1/notifications/unread-count")
        .await;
    assert_eq!(count["unread_count"], 1);
}

async fn read_unread_mark_all_and_delete_change_the_feed(app: TestApp) {
    let n: Vec<String> = {
        let mut v = vec![];
        for i in 0..4 {
            v.push(
                app.notify("rw", &format!("n{i}")).await["notification_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        v
    };
    let token = app.token("rw").await;
    let (s, body) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{}/read", n[0]),
            json!({}),
        )
        .await;
    assert_eq!((s, body["unread_count"].as_u64()), (200, Some(3)));
    let (_, one) = app
        .get_json(&token, &format!("/api/v1/notifications/{}", n[0]))
        .await;
    assert!(one["read_at"].is_string());
    let (s, body) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{}/unread", n[0]),
            json!({}),
        )
        .await;
    assert_eq!((s, body["unread_count"].as_u64()), (200, Some(4)));
    let (s, body) = app
        .post_json(
            &token,
            "/api/v1/notifications/mark-read",
            json!({"ids": [n[1], n[2]]}),
        )
        .await;
    assert_eq!((s, body["unread_count"].as_u64()), (200, Some(2)));
    assert_eq!(body["ids"].as_array().unwrap().len(), 2);
    let (s, body) = app
        .post_json(&token, "/api/v1/notifications/mark-all-read", json!({}))
        .await;
    assert_eq!((s, body["unread_count"].as_u64()), (200, Some(0)));
    let res = app
        .as_user(
            &token,
            Method::DELETE,
            &format!("/api/v1/notifications/{}", n[3]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (s, _) = app
        .post_json(
            &token,
            "/api/v1/notifications/delete",
            json!({"ids": [n[0]]}),
        )
        .await;
    assert_eq!(s, 200);
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    let left = ids(&page);
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&n[3]) && !left.contains(&n[0]));
    let (s, _) = app
        .get_json(&token, &format!("/api/v1/notifications/{}", n[3]))
        .await;
    assert_eq!(s, 404, "a deleted notification is gone");
}

async fn a_user_can_send_themselves_a_test_notification(app: TestApp) {
    let token = app.token("tester").await;
    let (s, body) = app
        .post_json(&token, "/api/v1/notifications/test", json!({}))
        .await;
    assert_eq!(s, 202);
    assert_eq!(body["status"], "accepted");
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"][0]["category"], "test");
}

on_both_databases!(
    the_feed_pages_newest_first_with_a_stable_cursor,
    unread_only_and_category_filter_the_feed,
    read_unread_mark_all_and_delete_change_the_feed,
    a_user_can_send_themselves_a_test_notification,
);
