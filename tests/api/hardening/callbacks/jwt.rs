//! Configured JWT issuer and audience are required claims; `nbf` is honoured.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both;
use reqwest::Method;
use serde_json::{json, Value};

const SECRET: &str = "claims-test-secret-0123456789abcdef";
const ISS: &str = "https://idp.example";
const AUD: &str = "herald-api";

async fn strict_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.jwt_secret = Some(secrecy::SecretString::from(SECRET.to_string()));
        s.jwt_issuer = Some(ISS.into());
        s.jwt_audience = Some(AUD.into());
    })
    .await
}

fn token(mut claims: Value) -> String {
    claims["sub"] = json!("claims-user");
    claims["exp"] = json!(chrono::Utc::now().timestamp() + 3600);
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

async fn status(app: &TestApp, token: &str) -> u16 {
    app.as_user(token, Method::GET, "/api/v1/notifications")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn tokens_missing_or_mismatching_configured_claims_are_refused(backend: Backend) {
    let Some(app) = strict_app(backend).await else {
        return;
    };
    let later = chrono::Utc::now().timestamp() + 1800;
    for (what, claims) in [
        ("missing aud", json!({"iss": ISS})),
        ("wrong aud", json!({"iss": ISS, "aud": "someone-else"})),
        ("missing iss", json!({"aud": AUD})),
        (
            "wrong iss",
            json!({"iss": "https://evil.example", "aud": AUD}),
        ),
        (
            "nbf in the future",
            json!({"iss": ISS, "aud": AUD, "nbf": later}),
        ),
    ] {
        assert_eq!(status(&app, &token(claims)).await, 401, "{what}");
    }
}

on_both!(tokens_missing_or_mismatching_configured_claims_are_refused);

async fn a_token_with_the_configured_claims_is_accepted(backend: Backend) {
    let Some(app) = strict_app(backend).await else {
        return;
    };
    let past = chrono::Utc::now().timestamp() - 60;
    let good = token(json!({"iss": ISS, "aud": AUD, "nbf": past}));
    assert_eq!(status(&app, &good).await, 200);
    // Herald's own tokens carry the configured claims too.
    let minted = app.token("claims-user").await;
    assert_eq!(status(&app, &minted).await, 200);
}

on_both!(a_token_with_the_configured_claims_is_accepted);
