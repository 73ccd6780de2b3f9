//! Seen vs read, archive, category tabs, tags, and what another user cannot do.

use super::{counts, ids, send_with};
use crate::helpers::{next_of_type, send_frame, TestApp};
use crate::on_both_databases;
use serde_json::json;

async fn seen_and_read_are_counted_apart_over_rest_and_websocket(app: TestApp) {
    let user = "seer";
    let a = send_with(&app, user, json!({})).await;
    let b = send_with(&app, user, json!({})).await;
    let c = send_with(&app, user, json!({})).await;
    let token = app.token(user).await;
    let (mut ws, hello) = app.ws(&token, None).await;
    assert_eq!(
        (
            hello["unread_count"].as_u64(),
            hello["unseen_count"].as_u64()
        ),
        (Some(3), Some(3))
    );

    let (status, v) = app
        .post_json(
            &token,
            "/api/v1/notifications/mark-seen",
            json!({"ids": [a]}),
        )
        .await;
    assert_eq!((status, v["unseen_count"].as_u64()), (200, Some(2)), "{v}");
    let f = next_of_type(&mut ws, "seen").await;
    assert_eq!(f["ids"], json!([a]));
    assert_eq!(f["unseen_count"], 2);
    assert_eq!(counts(&app, &token).await, (3, 2), "seen is not read");

    send_frame(&mut ws, json!({"type": "mark_seen", "ids": [b]})).await;
    let f = next_of_type(&mut ws, "seen").await;
    assert_eq!(
        (f["ids"].clone(), f["unseen_count"].as_u64()),
        (json!([b]), Some(1))
    );

    let (_, page) = app
        .get_json(&token, "/api/v1/notifications?unseen_only=true")
        .await;
    assert_eq!(ids(&page), vec![c.clone()]);
    assert_eq!(page["unseen_count"], 1);

    // Reading implies seeing.
    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{c}/read"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["unread_count"].as_u64(), v["unseen_count"].as_u64()),
        (Some(2), Some(0))
    );
    let (_, one) = app
        .get_json(&token, &format!("/api/v1/notifications/{c}"))
        .await;
    assert!(
        one["seen_at"].is_string() && one["read_at"].is_string(),
        "{one}"
    );
    let (_, fresh) = app
        .get_json(&token, &format!("/api/v1/notifications/{a}"))
        .await;
    assert!(
        fresh["seen_at"].is_string() && fresh["read_at"].is_null(),
        "{fresh}"
    );

    send_with(&app, user, json!({})).await;
    let (status, v) = app
        .post_json(&token, "/api/v1/notifications/mark-all-seen", json!({}))
        .await;
    assert_eq!((status, v["unseen_count"].as_u64()), (200, Some(0)), "{v}");
    let f = next_of_type(&mut ws, "seen_all").await;
    assert_eq!(f["unseen_count"], 0);
    assert_eq!(counts(&app, &token).await, (3, 0));
}

async fn archiving_hides_from_the_default_list_and_tells_every_socket(app: TestApp) {
    let user = "archivist";
    let keep = send_with(&app, user, json!({})).await;
    let gone = send_with(&app, user, json!({})).await;
    let token = app.token(user).await;
    let (mut first, _) = app.ws(&token, None).await;
    let (mut second, _) = app.ws(&token, None).await;

    let (status, v) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{gone}/archive"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    for ws in [&mut first, &mut second] {
        let f = next_of_type(ws, "archived").await;
        assert_eq!(f["ids"], json!([gone]));
        assert_eq!(
            (f["unread_count"].as_u64(), f["unseen_count"].as_u64()),
            (Some(1), Some(1))
        );
    }
    let (_, active) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(ids(&active), vec![keep.clone()]);
    let (_, archived) = app
        .get_json(&token, "/api/v1/notifications?status=archived")
        .await;
    assert_eq!(ids(&archived), vec![gone.clone()]);
    assert!(archived["items"][0]["archived_at"].is_string());
    let (_, all) = app
        .get_json(&token, "/api/v1/notifications?status=all")
        .await;
    assert_eq!(ids(&all), vec![gone.clone(), keep.clone()]);
    assert_eq!(
        counts(&app, &token).await,
        (1, 1),
        "archived items count in neither"
    );

    let (status, _) = app
        .post_json(
            &token,
            &format!("/api/v1/notifications/{gone}/unarchive"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    let f = next_of_type(&mut second, "unarchived").await;
    assert_eq!(
        (f["ids"].clone(), f["unread_count"].as_u64()),
        (json!([gone]), Some(2))
    );

    let (status, v) = app
        .post_json(
            &token,
            "/api/v1/notifications/archive",
            json!({"ids": [keep, gone]}),
        )
        .await;
    assert_eq!((status, v["unread_count"].as_u64()), (200, Some(0)), "{v}");
    let (_, active) = app.get_json(&token, "/api/v1/notifications").await;
    assert!(ids(&active).is_empty());
    let (status, _) = app
        .get_json(&token, "/api/v1/notifications?status=sideways")
        .await;
    assert_eq!(status, 400, "an unknown status is refused");
}

async fn category_tabs_count_unread_and_tags_filter_the_list(app: TestApp) {
    let user = "tabs";
    let paid = send_with(
        &app,
        user,
        json!({"category": "billing", "tags": ["invoice", "q1"]}),
    )
    .await;
    send_with(&app, user, json!({"category": "billing", "tags": ["q1"]})).await;
    send_with(&app, user, json!({"category": "social", "tags": ["a_b"]})).await;
    send_with(&app, user, json!({"category": "social", "tags": ["axb"]})).await;
    let token = app.token(user).await;
    app.post_json(
        &token,
        &format!("/api/v1/notifications/{paid}/read"),
        json!({}),
    )
    .await;

    let (status, tabs) = app
        .get_json(&token, "/api/v1/notifications/categories")
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        tabs,
        json!({"categories": [
            {"category": "billing", "unread_count": 1},
            {"category": "social", "unread_count": 2},
        ]})
    );
    let tagged = |tag: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            let (status, page) = app
                .get_json(token, &format!("/api/v1/notifications?tag={tag}"))
                .await;
            assert_eq!(status, 200, "{page}");
            ids(&page).len()
        }
    };
    assert_eq!(tagged("invoice").await, 1);
    assert_eq!(tagged("q1").await, 2);
    assert_eq!(tagged("a_b").await, 1, "_ is not a wildcard");
    assert_eq!(tagged("q").await, 0, "tags match whole");
    let (_, page) = app
        .get_json(&token, "/api/v1/notifications?tag=invoice")
        .await;
    assert_eq!(page["items"][0]["tags"], json!(["invoice", "q1"]));
    let (status, _) = app
        .get_json(&token, "/api/v1/notifications?tag=no%20spaces")
        .await;
    assert_eq!(status, 422);
}

async fn bad_tags_actions_and_snoozes_are_refused_with_clear_codes(app: TestApp) {
    let base = json!({"user_id": "strict", "title": "t"});
    let with = |extra: serde_json::Value| {
        let mut b = base.clone();
        b.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        b
    };
    for (extra, code) in [
        (json!({"tags": ["has space"]}), "invalid_tag"),
        (json!({"tags": ["x".repeat(33)]}), "invalid_tag"),
        (
            json!({"tags": (0..11).map(|i| format!("t{i}")).collect::<Vec<_>>()}),
            "invalid_tag",
        ),
        (
            json!({"actions": [{"label": "Both", "url": "/a", "event": "a.b"}]}),
            "invalid_action",
        ),
        (json!({"actions": [{"label": "None"}]}), "invalid_action"),
        (
            json!({"actions": [{"label": "x".repeat(41), "url": "/a"}]}),
            "invalid_action",
        ),
        (
            json!({"actions": [{"label": "Bad", "url": "javascript:alert(1)"}]}),
            "invalid_action",
        ),
        (
            json!({"actions": [{"label": "a", "url": "/a"}, {"label": "b", "url": "/b"}, {"label": "c", "url": "/c"}]}),
            "invalid_action",
        ),
    ] {
        let res = app.send(with(extra.clone())).await;
        assert_eq!(res.status(), 422, "{extra}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{extra}: {body}");
    }
    let id = send_with(&app, "strict", json!({})).await;
    let token = app.token("strict").await;
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let far = (chrono::Utc::now() + chrono::Duration::days(91)).to_rfc3339();
    for until in [past.as_str(), far.as_str(), "tomorrow"] {
        let (status, v) = app
            .post_json(
                &token,
                &format!("/api/v1/notifications/{id}/snooze"),
                json!({"until": until}),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (422, Some("invalid_snooze")),
            "{until}: {v}"
        );
    }
}

async fn another_user_cannot_archive_snooze_or_act_on_my_notification(app: TestApp) {
    let mine = send_with(
        &app,
        "owner",
        json!({"actions": [{"label": "Open", "url": "/x"}, {"label": "Go", "event": "thing.done"}]}),
    )
    .await;
    let intruder = app.token("intruder").await;
    let until = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for (path, body) in [
        (format!("/api/v1/notifications/{mine}/archive"), json!({})),
        (format!("/api/v1/notifications/{mine}/unarchive"), json!({})),
        (
            format!("/api/v1/notifications/{mine}/snooze"),
            json!({"until": until}),
        ),
        (format!("/api/v1/notifications/{mine}/unsnooze"), json!({})),
        (format!("/api/v1/notifications/{mine}/actions/0"), json!({})),
        (format!("/api/v1/notifications/{mine}/actions/1"), json!({})),
    ] {
        let (status, v) = app.post_json(&intruder, &path, body).await;
        assert_eq!(status, 404, "{path}: {v}");
    }
    let (_, v) = app
        .post_json(
            &intruder,
            "/api/v1/notifications/archive",
            json!({"ids": [mine]}),
        )
        .await;
    assert_eq!(v["ids"], json!([]), "bulk archive ignores others' ids");
    let owner = app.token("owner").await;
    let (_, one) = app
        .get_json(&owner, &format!("/api/v1/notifications/{mine}"))
        .await;
    assert!(
        one["archived_at"].is_null() && one["snoozed_until"].is_null() && one["read_at"].is_null(),
        "{one}"
    );
    let (status, v) = app
        .get_json(&app.admin_key, &format!("/api/v1/events/action:{mine}:1"))
        .await;
    assert_eq!(status, 404, "no action event was ingested: {v}");
}

on_both_databases!(
    seen_and_read_are_counted_apart_over_rest_and_websocket,
    archiving_hides_from_the_default_list_and_tells_every_socket,
    category_tabs_count_unread_and_tags_filter_the_list,
    bad_tags_actions_and_snoozes_are_refused_with_clear_codes,
    another_user_cannot_archive_snooze_or_act_on_my_notification,
);
