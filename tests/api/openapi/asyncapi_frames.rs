use crate::helpers::{next_json, next_of_type, send_frame, TestApp};
use crate::on_both_databases;
use serde_json::{json, Value};

async fn asyncapi(app: &TestApp) -> Value {
    let res = app
        .client
        .get(app.url("/api/v1/asyncapi.json"))
        .send()
        .await
        .expect("GET /api/v1/asyncapi.json");
    assert_eq!(res.status(), 200, "served without credentials");
    res.json().await.expect("the AsyncAPI document is JSON")
}

/// Checks `frame` against the payload schema of the message named by its `type`.
fn check(doc: &Value, frame: &Value) {
    let kind = frame["type"].as_str().expect("a frame has a type");
    let payload = &doc["components"]["messages"][kind]["payload"];
    assert!(payload.is_object(), "no message for frame type '{kind}'");
    // The payload refers into `components`; validate from a root that holds them.
    let schema = json!({"$ref": payload["$ref"], "components": doc["components"]});
    let validator = jsonschema::validator_for(&schema).expect("the payload schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(frame)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "{kind} frame {frame} breaks the document: {errors:?}"
    );
}

async fn rest(app: &TestApp, token: &str, path: &str, body: Value) {
    let (status, answer) = app.post_json(token, path, body).await;
    assert!(status < 300, "POST {path}: {status} {answer}");
}

async fn every_frame_a_live_session_receives_matches_the_asyncapi_document(app: TestApp) {
    let doc = asyncapi(&app).await;
    assert_eq!(doc["asyncapi"], "3.0.0");
    let token = app.token("frames").await;
    let (mut ws, hello) = app.ws(&token, None).await;
    let mut frames = vec![hello];
    let id = app.notify("frames", "one").await["notification_id"]
        .as_str()
        .expect("notification id")
        .to_string();
    frames.push(next_of_type(&mut ws, "notification").await);
    // Each step changes something, so each is answered by exactly its frame.
    let steps = [
        (
            "/api/v1/notifications/mark-seen".into(),
            json!({"ids": [id]}),
            "seen",
        ),
        (
            "/api/v1/notifications/mark-all-seen".into(),
            json!({}),
            "seen_all",
        ),
        (
            format!("/api/v1/notifications/{id}/read"),
            json!({}),
            "read",
        ),
        (
            format!("/api/v1/notifications/{id}/unread"),
            json!({}),
            "unread",
        ),
        (
            "/api/v1/notifications/mark-all-read".into(),
            json!({}),
            "read_all",
        ),
        (
            format!("/api/v1/notifications/{id}/archive"),
            json!({}),
            "archived",
        ),
        (
            format!("/api/v1/notifications/{id}/unarchive"),
            json!({}),
            "unarchived",
        ),
        (
            format!("/api/v1/notifications/{id}/snooze"),
            json!({"until": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}),
            "snoozed",
        ),
        (
            format!("/api/v1/notifications/{id}/unsnooze"),
            json!({}),
            "unsnoozed",
        ),
    ];
    for (path, body, kind) in steps {
        rest(&app, &token, &path, body).await;
        frames.push(next_of_type(&mut ws, kind).await);
    }
    let (status, _) = app
        .as_user(
            &token,
            reqwest::Method::DELETE,
            &format!("/api/v1/notifications/{id}"),
        )
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .expect("DELETE");
    assert!(status < 300, "DELETE: {status}");
    frames.push(next_of_type(&mut ws, "deleted").await);
    send_frame(&mut ws, json!({"type": "ping"})).await;
    frames.push(next_of_type(&mut ws, "pong").await);
    send_frame(&mut ws, json!({"type": "dance"})).await;
    frames.push(next_json(&mut ws).await);
    send_frame(&mut ws, json!({"type": "mark_read", "ids": ["not-a-uuid"]})).await;
    frames.push(next_json(&mut ws).await);
    // A resumed session: a replayed notification and a recovered hello.
    app.notify("frames", "two").await;
    let (mut resumed, hello) = app.ws(&token, Some(1)).await;
    assert_eq!(hello["recovered"], true, "{hello}");
    frames.push(hello);
    frames.push(next_of_type(&mut resumed, "notification").await);
    for frame in &frames {
        check(&doc, frame);
    }
    let kinds: Vec<&str> = frames.iter().filter_map(|f| f["type"].as_str()).collect();
    assert!(kinds.contains(&"error"), "{kinds:?}");
}

async fn a_frame_the_server_never_sends_is_refused_by_the_document(app: TestApp) {
    let doc = asyncapi(&app).await;
    let payload = &doc["components"]["messages"]["read"]["payload"];
    let schema = json!({"$ref": payload["$ref"], "components": doc["components"]});
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    assert!(!validator.is_valid(&json!({"type": "read", "ids": "not-a-list"})));
    assert!(validator
        .is_valid(&json!({"type": "read", "ids": [], "unread_count": 0, "unseen_count": 0})));
}

on_both_databases!(
    every_frame_a_live_session_receives_matches_the_asyncapi_document,
    a_frame_the_server_never_sends_is_refused_by_the_document,
);
