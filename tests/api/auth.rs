use crate::helpers::{next_json, next_of_type, send_frame, spawn_app, Backend, TestApp};
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

async fn requests_without_valid_credentials_are_refused(app: TestApp) {
    let res = app
        .client
        .post(app.url("/api/v1/send"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let res = app
        .client
        .post(app.url("/api/v1/send"))
        .bearer_auth("hk_wrong")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .client
        .get(app.url("/api/v1/notifications"))
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    // An API key is not a user token, and a user token is not an API key.
    let res = app
        .admin(Method::GET, "/api/v1/notifications")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let token = app.token("u").await;
    let res = app
        .as_user(&token, Method::POST, "/api/v1/send")
        .json(&json!({"user_id": "u", "title": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = app
        .as_user(&token, Method::GET, "/api/v1/users/u")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn tokens_signed_with_another_secret_are_refused(app: TestApp) {
    let keys =
        herald::auth::JwtKeys::new(b"0123456789abcdef0123456789abcdef", None, None, None).unwrap();
    let (token, _) = keys
        .mint(&herald::domain::UserId::parse("u").unwrap(), 600)
        .unwrap();
    let res = app
        .as_user(&token, Method::GET, "/api/v1/notifications")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

async fn one_user_can_never_touch_another_users_notifications(app: TestApp) {
    let alice_n = app.notify("alice", "private to alice").await["notification_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.notify("bob", "bob's").await;
    let bob = app.token("bob").await;
    let (_, page) = app.get_json(&bob, "/api/v1/notifications").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["title"], "bob's");
    for (method, path) in [
        (Method::GET, format!("/api/v1/notifications/{alice_n}")),
        (
            Method::POST,
            format!("/api/v1/notifications/{alice_n}/read"),
        ),
        (
            Method::POST,
            format!("/api/v1/notifications/{alice_n}/unread"),
        ),
        (Method::DELETE, format!("/api/v1/notifications/{alice_n}")),
    ] {
        let res = app
            .as_user(&bob, method.clone(), &path)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{method} {path}");
    }
    let (_, body) = app
        .post_json(
            &bob,
            "/api/v1/notifications/mark-read",
            json!({"ids": [alice_n]}),
        )
        .await;
    assert_eq!(body["ids"], json!([]));
    let (_, body) = app
        .post_json(
            &bob,
            "/api/v1/notifications/delete",
            json!({"ids": [alice_n]}),
        )
        .await;
    assert_eq!(body["ids"], json!([]));
    let alice = app.token("alice").await;
    let (_, page) = app.get_json(&alice, "/api/v1/notifications").await;
    assert_eq!(
        page["items"][0]["read_at"],
        Value::Null,
        "bob's calls changed nothing"
    );
    assert_eq!(page["unread_count"], 1);
}

async fn one_user_can_never_touch_another_users_devices_or_preferences(app: TestApp) {
    let alice = app.token("alice").await;
    let bob = app.token("bob").await;
    let (s, _) = app
        .post_json(
            &alice,
            "/api/v1/devices",
            json!({"token": "alice-device", "platform": "ios"}),
        )
        .await;
    assert_eq!(s, 201);
    let res = app
        .as_user(&bob, Method::DELETE, "/api/v1/devices/alice-device")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let (_, devs) = app.get_json(&bob, "/api/v1/devices").await;
    assert!(devs["items"].as_array().unwrap().is_empty());
    app.as_user(&alice, Method::PUT, "/api/v1/preferences")
        .json(&json!({"channels": {"sms": false}}))
        .send()
        .await
        .unwrap();
    let (_, prefs) = app.get_json(&bob, "/api/v1/preferences").await;
    assert_eq!(prefs["channels"]["sms"], true, "bob sees his own defaults");
}

async fn a_websocket_only_ever_carries_its_own_users_frames(app: TestApp) {
    let bob = app.token("bob").await;
    let (mut bob_ws, _) = app.ws(&bob, None).await;
    let alice_n = app.notify("alice", "for alice").await["notification_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.notify("bob", "for bob").await;
    let frame = next_of_type(&mut bob_ws, "notification").await;
    assert_eq!(frame["notification"]["title"], "for bob");
    // Bob marking Alice's id read over the socket changes nothing of Alice's.
    send_frame(&mut bob_ws, json!({"type": "mark_read", "ids": [alice_n]})).await;
    send_frame(&mut bob_ws, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut bob_ws).await["type"], "pong");
    let alice = app.token("alice").await;
    let (_, count) = app
        .get_json(&alice, "/api/v1/notifications/unread-count")
        .await;
    assert_eq!(count["unread_count"], 1);
}

async fn a_send_scoped_key_can_send_but_not_administer(app: TestApp) {
    let exe = env!("CARGO_BIN_EXE_herald");
    let out = std::process::Command::new(exe)
        .args([
            "api-key",
            "create",
            "--name",
            "booking-service",
            "--scope",
            "send",
        ])
        .env("HERALD_DATABASE_URL", &app.database_url)
        .env("HERALD_DATA_DIR", app.data_dir.path())
        .env("HERALD_LOG", "warn")
        .output()
        .expect("run herald api-key create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(key.starts_with("hk_"));
    let res = app
        .client
        .post(app.url("/api/v1/send"))
        .bearer_auth(&key)
        .json(&json!({"user_id": "u", "title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let res = app
        .client
        .get(app.url("/api/v1/users/u"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let prefix: String = key.chars().take(11).collect();
    let out = std::process::Command::new(exe)
        .args(["api-key", "revoke", &prefix])
        .env("HERALD_DATABASE_URL", &app.database_url)
        .env("HERALD_DATA_DIR", app.data_dir.path())
        .env("HERALD_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let res = app
        .client
        .post(app.url("/api/v1/send"))
        .bearer_auth(&key)
        .json(&json!({"user_id": "u", "title": "t"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a revoked key stops working");
}

on_both_databases!(
    requests_without_valid_credentials_are_refused,
    tokens_signed_with_another_secret_are_refused,
    one_user_can_never_touch_another_users_notifications,
    one_user_can_never_touch_another_users_devices_or_preferences,
    a_websocket_only_ever_carries_its_own_users_frames,
    a_send_scoped_key_can_send_but_not_administer,
);

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn an_expired_token_signed_by_the_server_says_token_expired() {
    let secret = "expired-token-secret-0123456789abcdef";
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |s| {
        s.jwt_secret = Some(secrecy::SecretString::from(secret.to_string()));
    })
    .await
    .unwrap();
    let keys = herald::auth::JwtKeys::new(secret.as_bytes(), None, None, None).unwrap();
    // Minted with a lifetime of zero, then checked after the 30 s leeway would matter: craft exp in the past.
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let claims = json!({"sub": "u", "exp": chrono::Utc::now().timestamp() - 3600, "iat": 0});
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let res = app
        .as_user(&token, Method::GET, "/api/v1/notifications")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "token_expired");
    let (fresh, _) = keys
        .mint(&herald::domain::UserId::parse("u").unwrap(), 60)
        .unwrap();
    assert_eq!(
        app.as_user(&fresh, Method::GET, "/api/v1/notifications")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn rs256_tokens_from_a_platforms_identity_provider_are_accepted() {
    let private = include_str!("../fixtures/rs256_private.pem");
    let public = include_str!("../fixtures/rs256_public.pem");
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |s| {
        s.jwt_rs256_public_key = Some(public.to_string())
    })
    .await
    .unwrap();
    let claims = json!({"sub": "idp-user", "exp": chrono::Utc::now().timestamp() + 600});
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(private.as_bytes()).unwrap();
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap();
    app.notify("idp-user", "hi").await;
    let (s, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(s, 200);
    assert_eq!(page["items"][0]["title"], "hi");
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_bad_websocket_token_gets_401_and_no_socket() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let err = tokio_tungstenite::connect_async(app.ws_url("bogus", None))
        .await
        .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), 401),
        other => panic!("expected an HTTP 401, got {other:?}"),
    }
    let res = app.client.get(app.url("/api/v1/ws")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    tokio::time::sleep(Duration::from_millis(10)).await;
}
