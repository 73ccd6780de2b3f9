//! The consent audit: every preference change with its origin, readable by
//! the user (their own only) and by services.

use super::{call, get};
use crate::helpers::{spawn_app_with, Backend};
use crate::on_both;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::json;

const JWT_SECRET: &str = "topics-history-secret-0123456789abcdef";

async fn changes_from_a_user_a_service_and_an_unsubscribe_link_are_recorded_with_their_origins(
    backend: Backend,
) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.jwt_secret = Some(SecretString::from(JWT_SECRET.to_string()));
    })
    .await
    else {
        return;
    };
    let user = "consenting";
    let token = app.token(user).await;
    let res = app
        .as_user(&token, Method::PUT, "/api/v1/preferences")
        .json(&json!({"channels": {"sms": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = app
        .as_user(&token, Method::PATCH, "/api/v1/preferences")
        .json(&json!({"channels": {"push": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A PATCH that changes nothing records nothing.
    app.as_user(&token, Method::PATCH, "/api/v1/preferences")
        .json(&json!({"channels": {"push": false}}))
        .send()
        .await
        .unwrap();
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/api/v1/users/{user}/preferences"),
        json!({"categories": {"marketing": {"email": false}}}),
    )
    .await;
    assert_eq!(status, 200);
    let signer = herald::channels::email::UnsubscribeSigner::new(JWT_SECRET.as_bytes(), "");
    let res = app
        .client
        .post(app.url(&signer.url(user, "newsletter")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "unsubscribe: {:?}", res.text().await);

    let (status, mine) = app.get_json(&token, "/api/v1/preferences/history").await;
    assert_eq!(status, 200, "{mine}");
    let items = mine["items"].as_array().expect("items");
    let origins: Vec<&str> = items
        .iter()
        .map(|i| i["origin"].as_str().unwrap())
        .collect();
    assert_eq!(
        origins,
        ["unsubscribe", "api_key", "user", "user"],
        "newest first: {mine}"
    );
    assert_eq!(
        items[0]["after"],
        json!({"categories.newsletter.email": false})
    );
    assert_eq!(items[1]["api_key_name"], "HERALD_ADMIN_API_KEY");
    assert_eq!(
        items[1]["before"],
        json!({"categories.marketing.email": null})
    );
    assert_eq!(items[2]["before"], json!({"channels.push": true}));
    assert_eq!(items[3]["after"], json!({"channels.sms": false}));
    assert!(items[2]["api_key_name"].is_null());

    // A service reads the same, by page.
    let (_, page) = get(
        &app,
        &format!("/api/v1/users/{user}/preferences/history?limit=3"),
    )
    .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().expect("a next page");
    let (_, rest) = get(
        &app,
        &format!("/api/v1/users/{user}/preferences/history?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(rest["items"][0]["origin"], "user");
    assert!(rest["next_cursor"].is_null());

    // Erasing the user erases their history.
    let res = app
        .admin(Method::DELETE, &format!("/api/v1/users/{user}"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "erase: {}", res.status());
    let (_, gone) = get(&app, &format!("/api/v1/users/{user}/preferences/history")).await;
    assert_eq!(gone["items"], json!([]), "{gone}");
}

async fn a_user_cannot_read_another_users_preference_history(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    let (status, _) = call(
        &app,
        Method::PUT,
        "/api/v1/users/alice/preferences",
        json!({"channels": {"email": false}}),
    )
    .await;
    assert_eq!(status, 200);
    let bob = app.token("bob").await;
    let (status, page) = app.get_json(&bob, "/api/v1/preferences/history").await;
    assert_eq!(
        (status, page["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{page}"
    );
    let (status, body) = app
        .get_json(&bob, "/api/v1/users/alice/preferences/history")
        .await;
    assert!(
        status == 401 || status == 403,
        "user token on another's history: {status} {body}"
    );
    assert!(body["error"]["code"].is_string());
}

on_both!(
    changes_from_a_user_a_service_and_an_unsubscribe_link_are_recorded_with_their_origins,
    a_user_cannot_read_another_users_preference_history,
);
