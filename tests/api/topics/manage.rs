//! Topic and subscriber management, and what bad input gets.

use super::{call, get, topic_with};
use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::json;

async fn topics_are_created_renamed_listed_and_deleted(app: TestApp) {
    let (status, body) = call(
        &app,
        Method::PUT,
        "/api/v1/topics/films.new",
        json!({"name": "New films"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["name"], "New films");
    let (status, body) = call(
        &app,
        Method::PUT,
        "/api/v1/topics/films.new",
        json!({"name": "Premieres"}),
    )
    .await;
    assert_eq!((status, body["name"].as_str()), (200, Some("Premieres")));
    for k in ["a1", "a2", "a3"] {
        call(&app, Method::PUT, &format!("/api/v1/topics/{k}"), json!({})).await;
    }
    let (_, first) = get(&app, "/api/v1/topics?limit=2").await;
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["key"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(keys(&first), ["a1", "a2"]);
    let cursor = first["next_cursor"].as_str().expect("a next page");
    let (_, rest) = get(&app, &format!("/api/v1/topics?limit=2&cursor={cursor}")).await;
    assert_eq!(keys(&rest), ["a3", "films.new"]);
    assert!(rest["next_cursor"].is_null());
    let res = app
        .admin(Method::DELETE, "/api/v1/topics/a1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (status, body) = get(&app, "/api/v1/topics/a1").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

async fn subscribers_are_added_idempotently_listed_by_cursor_and_removed(app: TestApp) {
    let users: Vec<String> = (0..5).map(|i| format!("sub-{i}")).collect();
    topic_with(&app, "club", &users).await;
    // A repeat changes nothing; unknown users were created bare, as sends do.
    let (status, body) = call(
        &app,
        Method::POST,
        "/api/v1/topics/club/subscribers",
        json!({"user_ids": ["sub-0", "sub-0", "sub-1"]}),
    )
    .await;
    assert_eq!(
        (status, body["subscribers"].as_u64()),
        (200, Some(5)),
        "{body}"
    );
    let (status, _) = get(&app, "/api/v1/users/sub-3").await;
    assert_eq!(status, 200);
    let (_, page) = get(&app, "/api/v1/topics/club/subscribers?limit=3").await;
    assert_eq!(page["user_ids"], json!(["sub-0", "sub-1", "sub-2"]));
    let cursor = page["next_cursor"].as_str().expect("next page");
    let (_, page) = get(
        &app,
        &format!("/api/v1/topics/club/subscribers?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(page["user_ids"], json!(["sub-3", "sub-4"]));
    assert!(page["next_cursor"].is_null());
    let (status, body) = call(
        &app,
        Method::DELETE,
        "/api/v1/topics/club/subscribers",
        json!({"user_ids": ["sub-1", "nobody"]}),
    )
    .await;
    assert_eq!(
        (status, body["subscribers"].as_u64()),
        (200, Some(4)),
        "{body}"
    );
}

async fn bad_keys_bodies_and_recipients_get_clear_4xx_json(app: TestApp) {
    call(&app, Method::PUT, "/api/v1/topics/ok", json!({})).await;
    let cases = [
        (
            Method::PUT,
            "/api/v1/topics/bad%20key",
            json!({}),
            422,
            "invalid_topic_key",
        ),
        (
            Method::PUT,
            "/api/v1/topics/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            json!({}),
            422,
            "invalid_topic_key",
        ),
        (
            Method::PUT,
            "/api/v1/topics/ok",
            json!({"name": ""}),
            422,
            "invalid_name",
        ),
        (
            Method::PUT,
            "/api/v1/topics/ok",
            json!({"colour": "red"}),
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/topics/ok/subscribers",
            json!({"user_ids": "u1"}),
            422,
            "invalid_body",
        ),
        (
            Method::POST,
            "/api/v1/topics/ok/subscribers",
            json!({"user_ids": []}),
            422,
            "invalid_user_ids",
        ),
        (
            Method::POST,
            "/api/v1/topics/ok/subscribers",
            json!({"user_ids": ["a/b"]}),
            422,
            "invalid_user_id",
        ),
        (
            Method::POST,
            "/api/v1/topics/ok/subscribers",
            json!({"user_ids": (0..1001).map(|i| format!("u{i}")).collect::<Vec<_>>()}),
            422,
            "invalid_user_ids",
        ),
        (
            Method::POST,
            "/api/v1/topics/missing/subscribers",
            json!({"user_ids": ["u1"]}),
            404,
            "not_found",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"topic": "ok", "user_id": "u1", "title": "x"}),
            422,
            "invalid_recipient",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"title": "x"}),
            422,
            "invalid_recipient",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"topic": "no spaces", "title": "x"}),
            422,
            "invalid_topic_key",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"topic": "missing", "title": "x"}),
            404,
            "not_found",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"topic": "ok", "template_code": "nope"}),
            422,
            "template_not_found",
        ),
    ];
    for (method, path, body, want, code) in cases {
        let (status, got) = call(&app, method.clone(), path, body).await;
        assert_eq!(
            (status, got["error"]["code"].as_str()),
            (want, Some(code)),
            "{method} {path}: {got}"
        );
        assert!(got["error"]["message"].is_string(), "{got}");
    }
    let (status, got) = get(&app, "/api/v1/topics/ok/subscribers?cursor=garbage").await;
    assert_eq!(
        (status, got["error"]["code"].as_str()),
        (400, Some("invalid_cursor"))
    );
    let (status, got) = get(&app, "/api/v1/topics/ok/sends/not-a-uuid").await;
    assert_eq!(
        (status, got["error"]["code"].as_str()),
        (422, Some("invalid_id"))
    );
    // Topics are a service's business: a user token is refused.
    let token = app.token("someone").await;
    let (status, _) = app.get_json(&token, "/api/v1/topics").await;
    assert!(
        status == 401 || status == 403,
        "user token on /topics: {status}"
    );
}

on_both_databases!(
    topics_are_created_renamed_listed_and_deleted,
    subscribers_are_added_idempotently_listed_by_cursor_and_removed,
    bad_keys_bodies_and_recipients_get_clear_4xx_json,
);
