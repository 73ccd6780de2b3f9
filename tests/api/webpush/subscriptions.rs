//! Subscriptions come from browsers: only https push services on public
//! addresses, well-formed keys, and the public key only to callers with credentials.

use super::service::Subscriber;
use crate::helpers::{spawn_app, spawn_app_with, Backend};
use serde_json::json;

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn subscriptions_to_private_or_plain_http_push_services_are_refused() {
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let token = app.token("wp-guarded").await;
    let who = Subscriber::generate();
    for endpoint in [
        "http://push.example.com/x",
        "https://127.0.0.1/x",
        "https://[::ffff:10.0.0.1]/x",
        "https://localhost/x",
        "ftp://push.example.com/x",
    ] {
        let (status, body) = app
            .post_json(
                &token,
                "/api/v1/devices",
                json!({"platform": "web", "subscription": who.subscription(endpoint)}),
            )
            .await;
        assert_eq!(status, 422, "{endpoint}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    let (_, devices) = app.get_json(&token, "/api/v1/devices").await;
    assert_eq!(devices["items"], json!([]), "nothing was stored");
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn malformed_subscriptions_are_refused_with_a_reason() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.web_push_allow_private = true)
        .await
        .expect("app");
    let token = app.token("wp-bad").await;
    let mut short_key = Subscriber::generate().subscription("http://127.0.0.1:9/x");
    short_key["keys"]["p256dh"] = json!("BTBZMqHH6r4Tts7J_aSIgg");
    let good = Subscriber::generate().subscription("http://127.0.0.1:9/x");
    for (what, body) in [
        (
            "a short key",
            json!({"platform": "web", "subscription": short_key}),
        ),
        (
            "an ios platform",
            json!({"platform": "ios", "subscription": good}),
        ),
        (
            "a token besides",
            json!({"platform": "web", "token": "t", "subscription": good}),
        ),
        (
            "no subscription",
            json!({"platform": "web", "provider": "web_push", "token": "t"}),
        ),
        (
            "an unknown field",
            json!({"platform": "web", "subscription": {"endpoint": "http://127.0.0.1:9/x", "keys": good["keys"], "extra": 1}}),
        ),
    ] {
        let (status, res) = app.post_json(&token, "/api/v1/devices", body).await;
        assert!(status == 422 || status == 400, "{what}: {status} {res}");
        assert!(res["error"]["message"].is_string(), "{what}: {res}");
    }
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn the_public_key_is_served_to_users_and_admins_only_and_survives_a_restart() {
    let app = spawn_app(Backend::Sqlite).await.expect("app");
    let res = app
        .client
        .get(app.url("/api/v1/web-push/public-key"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 401);
    let token = app.token("wp-key").await;
    let (status, as_user) = app.get_json(&token, "/api/v1/web-push/public-key").await;
    assert_eq!(status, 200);
    let (status, as_admin) = app
        .get_json(&app.admin_key, "/api/v1/web-push/public-key")
        .await;
    assert_eq!(status, 200);
    assert_eq!(as_user, as_admin);
    let key = as_user["public_key"].as_str().expect("public_key");
    assert_eq!(key.len(), 87, "base64url of a 65-byte uncompressed point");
    assert!(
        key.starts_with('B'),
        "an uncompressed point starts with 0x04"
    );

    // A second server on the same data directory serves the same key.
    let dir = app.data_dir.path().to_path_buf();
    let again = spawn_app_with(Backend::Sqlite, |s| s.data_dir = dir.clone())
        .await
        .expect("second app");
    let (_, second) = again
        .get_json(&again.admin_key, "/api/v1/web-push/public-key")
        .await;
    assert_eq!(second["public_key"], key);
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn the_service_worker_is_served_from_the_root_and_a_subscription_can_be_removed() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.web_push_allow_private = true)
        .await
        .expect("app");
    let res = app
        .client
        .get(app.url("/herald-sw.js"))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 200);
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok());
    assert!(kind.is_some_and(|k| k.contains("javascript")), "{kind:?}");
    let text = res.text().await.unwrap_or_default();
    assert!(text.contains("showNotification") && text.contains("/api/v1/web-push/clicked"));

    let token = app.token("wp-leaving").await;
    let endpoint = "http://127.0.0.1:9/push/leaving?x=1";
    let sub = Subscriber::generate().subscription(endpoint);
    let (status, _) = app
        .post_json(
            &token,
            "/api/v1/devices",
            json!({"platform": "web", "subscription": sub}),
        )
        .await;
    assert_eq!(status, 201);
    let path = format!("/api/v1/devices/{}", urlencoding::encode(endpoint));
    let res = app
        .as_user(&token, reqwest::Method::DELETE, &path)
        .send()
        .await
        .expect("delete");
    assert_eq!(
        res.status(),
        204,
        "the SDK removes a subscription by its endpoint"
    );
}
