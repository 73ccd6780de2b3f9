//! Hardening tests: input. Text PostgreSQL cannot store, bodies of the wrong
//! shape and ids that are not ids are refused the same way on both databases.

mod logs;
mod openapi;

use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};

async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = app.admin(method, path);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn assert_refused(got: (u16, Value), code: &str, naming: &str, what: &str) {
    let (status, body) = got;
    assert_eq!(status, 422, "{what}: {body}");
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(naming),
        "{what}: '{message}' should name {naming}"
    );
}

async fn a_nul_character_in_any_body_string_is_a_422_naming_the_field(app: TestApp) {
    let nul = "a\u{0}b";
    let cases = [
        (
            Method::POST,
            "/api/v1/send",
            json!({"user_id": "u1", "title": nul}),
            "title",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"user_id": "u1", "title": "t", "body": nul}),
            "body",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"user_id": "u1", "title": "t", "request_id": nul}),
            "request_id",
        ),
        (
            Method::POST,
            "/api/v1/send",
            json!({"user_id": "u1", "title": "t", "data": {"k": [nul]}}),
            "data.k[0]",
        ),
        (
            Method::PUT,
            "/api/v1/users/u1",
            json!({"name": nul}),
            "name",
        ),
        (
            Method::POST,
            "/api/v1/users/u1/devices",
            json!({"token": "tok-1", "platform": "android", "device_id": nul}),
            "device_id",
        ),
        (
            Method::POST,
            "/api/v1/templates",
            json!({"code": "t1", "description": nul, "in_app": {"title": "x"}}),
            "description",
        ),
        (
            Method::POST,
            "/api/v1/rules",
            json!({"name": nul, "event_pattern": "a.*", "channels": ["in_app"], "template_code": "t1"}),
            "name",
        ),
        (
            Method::PUT,
            "/api/v1/users/u1/preferences",
            json!({"categories": {nul: {"email": false}}}),
            "categories",
        ),
        (
            Method::POST,
            "/api/v1/webhooks",
            json!({"url": "https://example.com/h", "description": nul}),
            "description",
        ),
        (
            Method::POST,
            "/api/v1/import",
            json!({"templates": [{"code": nul}]}),
            "templates[0].code",
        ),
        (
            Method::POST,
            "/api/v1/events",
            json!({"event_type": "order.placed", "note": nul}),
            "note",
        ),
        (
            Method::POST,
            "/api/v1/events",
            json!({"event_type": "order.placed", "id": nul}),
            "id",
        ),
    ];
    for (method, path, body, field) in cases {
        let what = format!("{method} {path} with a NUL in {field}");
        assert_refused(
            call(&app, method, path, Some(body)).await,
            "nul_byte",
            field,
            &what,
        );
    }
    // The app still answers: nothing was half-written.
    let (status, _) = call(&app, Method::GET, "/api/v1/users/u1", None).await;
    assert_eq!(status, 404);
}

async fn a_raw_nul_byte_in_an_event_body_is_a_422_and_is_not_parked(app: TestApp) {
    let res = app
        .admin(Method::POST, "/api/v1/events")
        .header("content-type", "application/json")
        .body(b"{\"event_type\":\"a.b\",\"x\":\"\0\"}".to_vec())
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "nul_byte", "{body}");
}

async fn a_control_character_in_a_path_or_query_id_is_a_422(app: TestApp) {
    let token = app.token("u1").await;
    for path in [
        "/api/v1/events/a%00b",
        "/api/v1/events/a%0Ab",
        "/api/v1/templates/a%00b",
        "/api/v1/users/a%00b",
        "/api/v1/rules/a%00b",
        "/api/v1/webhooks/a%00b",
        "/api/v1/notifications/a%00b/deliveries",
    ] {
        let (status, body) = call(&app, Method::GET, path, None).await;
        assert_eq!(status, 422, "GET {path}: {body}");
        assert_eq!(
            body["error"]["code"], "control_character",
            "GET {path}: {body}"
        );
    }
    let (status, body) = call(&app, Method::DELETE, "/api/v1/users/u1/devices/a%00b", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (422, json!("control_character")),
        "{body}"
    );
    let res = app
        .as_user(&token, Method::DELETE, "/api/v1/devices/a%00b")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 422);
    let (status, body) = call(
        &app,
        Method::GET,
        "/api/v1/deliveries?user_id=u1&request_id=a%00b",
        None,
    )
    .await;
    assert_refused(
        (status, body),
        "control_character",
        "request_id",
        "GET /deliveries",
    );
}

async fn an_array_is_refused_where_an_object_is_expected(app: TestApp) {
    let token = app.token("u1").await;
    let six = json!([null, null, null, null, null, null]);
    for (method, path, body) in [
        (Method::POST, "/api/v1/import", json!([null, null])),
        (Method::PUT, "/api/v1/users/u1", six.clone()),
        (Method::POST, "/api/v1/send", json!(["u1", null, null, "t"])),
        (
            Method::POST,
            "/api/v1/users/u1/devices",
            json!(["tok", null, "android"]),
        ),
        (Method::PUT, "/api/v1/users/u1/preferences", json!([])),
        (Method::POST, "/api/v1/templates", json!([])),
        (Method::POST, "/api/v1/rules", json!([])),
        (Method::POST, "/api/v1/webhooks", json!([])),
    ] {
        let what = format!("{method} {path} with an array");
        assert_refused(
            call(&app, method, path, Some(body)).await,
            "invalid_body",
            "object",
            &what,
        );
    }
    let res = app
        .as_user(&token, Method::POST, "/api/v1/notifications/mark-read")
        .json(&json!([[]]))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 422);
    // Nothing was created by the refused upsert.
    let (status, _) = call(&app, Method::GET, "/api/v1/users/u1", None).await;
    assert_eq!(status, 404);
}

async fn dot_only_user_ids_are_refused(app: TestApp) {
    for id in [".", "..", "..."] {
        let (status, body) = call(
            &app,
            Method::PUT,
            &format!("/api/v1/users/{id}"),
            Some(json!({})),
        )
        .await;
        // `.` and `..` may be folded away by URL normalisation before routing; either way, never a 200.
        assert!(
            matches!(status, 404 | 422),
            "PUT /users/{id}: {status} {body}"
        );
        let res = app.send(json!({"user_id": id, "title": "t"})).await;
        assert_eq!(res.status(), 422, "send to {id}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"]["code"], "invalid_user_id");
    }
    let (status, body) = call(&app, Method::PUT, "/api/v1/users/%2E%2E", Some(json!({}))).await;
    assert!(
        matches!(status, 404 | 422),
        "PUT /users/%2E%2E: {status} {body}"
    );
}

async fn a_relative_action_url_with_a_backslash_or_double_slash_is_refused(app: TestApp) {
    for url in [
        "/\\evil.com",
        "/a/\\evil.com",
        "/a//evil.com",
        "//evil.com",
        "/\tevil",
    ] {
        let res = app
            .send(json!({"user_id": "u1", "title": "t", "action_url": url}))
            .await;
        assert_eq!(res.status(), 422, "{url:?}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"]["code"], "invalid_field", "{url:?}: {body}");
    }
    let res = app
        .send(json!({"user_id": "u1", "title": "t", "action_url": "/bookings/1?next=https://x.example"}))
        .await;
    assert_eq!(res.status(), 202);
}

on_both_databases!(
    a_nul_character_in_any_body_string_is_a_422_naming_the_field,
    a_raw_nul_byte_in_an_event_body_is_a_422_and_is_not_parked,
    a_control_character_in_a_path_or_query_id_is_a_422,
    an_array_is_refused_where_an_object_is_expected,
    dot_only_user_ids_are_refused,
    a_relative_action_url_with_a_backslash_or_double_slash_is_refused,
);
