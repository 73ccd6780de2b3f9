//! Bad input on every endpoint gets a 4xx JSON error, never a 5xx or a panic.

use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::Value;

#[derive(Clone, Copy)]
enum Who {
    Service,
    User,
}

const JSON_ENDPOINTS: &[(Who, &str, &str)] = &[
    (Who::Service, "POST", "/api/v1/send"),
    (Who::Service, "PUT", "/api/v1/users/u1"),
    (Who::Service, "PUT", "/api/v1/users/u1/preferences"),
    (Who::Service, "PATCH", "/api/v1/users/u1/preferences"),
    (Who::Service, "POST", "/api/v1/users/u1/devices"),
    (Who::User, "PUT", "/api/v1/preferences"),
    (Who::User, "PATCH", "/api/v1/preferences"),
    (Who::User, "POST", "/api/v1/devices"),
    (Who::User, "POST", "/api/v1/notifications/mark-read"),
    (Who::User, "POST", "/api/v1/notifications/delete"),
];

async fn call(
    app: &TestApp,
    token: &str,
    who: Who,
    method: &str,
    path: &str,
    body: &str,
    ctype: &str,
) -> (u16, Value) {
    let m = Method::from_bytes(method.as_bytes()).unwrap();
    let req = match who {
        Who::Service => app.admin(m, path),
        Who::User => app.as_user(token, m, path),
    };
    let res = req
        .header("content-type", ctype)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    (status, body)
}

fn assert_json_4xx(status: u16, body: &Value, expect: &[u16], what: &str) {
    assert!(expect.contains(&status), "{what}: got {status} {body}");
    assert!(
        body["error"]["code"].is_string(),
        "{what}: error body {body}"
    );
    assert!(
        body["error"]["message"].is_string(),
        "{what}: error body {body}"
    );
}

async fn malformed_json_wrong_types_and_oversize_bodies_get_4xx_json(app: TestApp) {
    let token = app.token("u1").await;
    let huge = format!("{{\"title\":\"{}\"}}", "x".repeat(300 * 1024));
    for &(who, method, path) in JSON_ENDPOINTS {
        let what = format!("{method} {path}");
        let (s, b) = call(
            &app,
            &token,
            who,
            method,
            path,
            "{not json",
            "application/json",
        )
        .await;
        assert_json_4xx(s, &b, &[400], &format!("{what} malformed"));
        let (s, b) = call(
            &app,
            &token,
            who,
            method,
            path,
            "[1, 2, 3]",
            "application/json",
        )
        .await;
        assert_json_4xx(s, &b, &[400, 422], &format!("{what} wrong shape"));
        let (s, b) = call(
            &app,
            &token,
            who,
            method,
            path,
            r#"{"ids": 5, "user_id": 7, "channels": {"email": "yes"}, "platform": 3}"#,
            "application/json",
        )
        .await;
        assert_json_4xx(s, &b, &[400, 422], &format!("{what} wrong types"));
        let (s, b) = call(&app, &token, who, method, path, &huge, "application/json").await;
        assert_json_4xx(s, &b, &[413], &format!("{what} oversize"));
        let (s, b) = call(&app, &token, who, method, path, "{}", "text/plain").await;
        assert_json_4xx(s, &b, &[415], &format!("{what} content type"));
    }
}

async fn invalid_values_are_refused_with_the_field_named(app: TestApp) {
    let token = app.token("u1").await;
    let cases: &[(Who, &str, &str, &str, &str)] = &[
        (
            Who::Service,
            "POST",
            "/api/v1/send",
            r#"{"user_id":"a/b","title":"x"}"#,
            "invalid_user_id",
        ),
        (
            Who::Service,
            "POST",
            "/api/v1/send",
            r#"{"user_id":"u","title":"x","channels":["pigeon"]}"#,
            "invalid_channel",
        ),
        (
            Who::Service,
            "POST",
            "/api/v1/send",
            r#"{"user_id":"u","title":"x","priority":42}"#,
            "invalid_priority",
        ),
        (
            Who::Service,
            "POST",
            "/api/v1/send",
            r#"{"user_id":"u","title":"x","category":"no spaces"}"#,
            "invalid_category",
        ),
        (
            Who::Service,
            "POST",
            "/api/v1/send",
            r#"{"user_id":"u","title":"x","action_url":"javascript:alert(1)"}"#,
            "invalid_field",
        ),
        (
            Who::Service,
            "POST",
            "/api/v1/send",
            r#"{"user_id":"u"}"#,
            "invalid_field",
        ),
        (
            Who::Service,
            "POST",
            "/api/v1/send",
            r#"{"user_id":"u","title":"x","colour":"red"}"#,
            "invalid_body",
        ),
        (
            Who::Service,
            "PUT",
            "/api/v1/users/u1",
            r#"{"email":"not-an-email"}"#,
            "invalid_field",
        ),
        (
            Who::Service,
            "PUT",
            "/api/v1/users/u1",
            r#"{"phone":"12345"}"#,
            "invalid_field",
        ),
        (
            Who::Service,
            "PUT",
            "/api/v1/users/u1",
            r#"{"timezone":"Mars/Olympus"}"#,
            "invalid_field",
        ),
        (
            Who::User,
            "PUT",
            "/api/v1/preferences",
            r#"{"channels":{"pigeon":true}}"#,
            "invalid_channel",
        ),
        (
            Who::User,
            "PUT",
            "/api/v1/preferences",
            r#"{"quiet_hours":{"start":"25:00","end":"07:00","timezone":"UTC"}}"#,
            "invalid_quiet_hours",
        ),
        (
            Who::User,
            "POST",
            "/api/v1/devices",
            r#"{"token":"t","platform":"blackberry"}"#,
            "invalid_platform",
        ),
        (
            Who::User,
            "POST",
            "/api/v1/devices",
            r#"{"token":"has space","platform":"ios"}"#,
            "invalid_device_token",
        ),
        (
            Who::User,
            "POST",
            "/api/v1/notifications/mark-read",
            r#"{"ids":["not-a-uuid"]}"#,
            "invalid_notification_id",
        ),
    ];
    for &(who, method, path, body, code) in cases {
        let (s, b) = call(&app, &token, who, method, path, body, "application/json").await;
        assert_json_4xx(s, &b, &[422], &format!("{method} {path} {body}"));
        assert_eq!(b["error"]["code"], code, "{method} {path} {body}: {b}");
    }
}

async fn unknown_ids_and_bad_queries_get_4xx_json(app: TestApp) {
    let token = app.token("u1").await;
    let missing = uuid::Uuid::now_v7();
    let user_calls = [
        ("GET", format!("/api/v1/notifications/{missing}"), 404),
        ("POST", format!("/api/v1/notifications/{missing}/read"), 404),
        ("DELETE", format!("/api/v1/notifications/{missing}"), 404),
        ("GET", "/api/v1/notifications/not-a-uuid".to_string(), 422),
        (
            "DELETE",
            "/api/v1/devices/never-registered".to_string(),
            404,
        ),
        ("GET", "/api/v1/notifications?limit=0".to_string(), 400),
        ("GET", "/api/v1/notifications?limit=many".to_string(), 400),
        ("GET", "/api/v1/notifications?cursor=%%%".to_string(), 400),
        ("GET", "/api/v1/notifications?cursor=Zm9v".to_string(), 400),
        (
            "GET",
            "/api/v1/notifications?unread_only=maybe".to_string(),
            400,
        ),
        ("GET", "/api/v1/ws?since=-4".to_string(), 400),
    ];
    for (method, path, expect) in user_calls {
        let (s, b) = call(
            &app,
            &token,
            Who::User,
            method,
            &path,
            "",
            "application/json",
        )
        .await;
        assert_json_4xx(s, &b, &[expect], &format!("{method} {path}"));
    }
    let service_calls = [
        ("GET", "/api/v1/users/nobody", 404),
        ("DELETE", "/api/v1/users/nobody", 404),
        ("GET", "/api/v1/users/bad%20id", 422),
        ("DELETE", "/api/v1/users/u1/devices/none", 404),
    ];
    for (method, path, expect) in service_calls {
        let (s, b) = call(
            &app,
            &token,
            Who::Service,
            method,
            path,
            "",
            "application/json",
        )
        .await;
        assert_json_4xx(s, &b, &[expect], &format!("{method} {path}"));
    }
}

on_both_databases!(
    malformed_json_wrong_types_and_oversize_bodies_get_4xx_json,
    invalid_values_are_refused_with_the_field_named,
    unknown_ids_and_bad_queries_get_4xx_json,
);
