//! The generic HMAC callback and SendGrid: signed timestamps inside the window, and no replays.

use crate::events::{audit, import, movie_pack, post_event, seed_events};
use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::on_both;
use herald::channels::callbacks::generic_signature;
use secrecy::SecretString;
use serde_json::{json, Value};

const SECRET: &str = "relay-secret";

fn unix(offset_secs: i64) -> String {
    (chrono::Utc::now().timestamp() + offset_secs).to_string()
}

async fn relay_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.callback_secret = Some(SecretString::from(SECRET.to_string()));
    })
    .await
}

/// Sends the booking email and returns its provider message id.
async fn sent_email(app: &TestApp) -> String {
    import(app, &movie_pack()).await;
    post_event(app, &seed_events()[0].1).await;
    let email = || async {
        audit(app, "evt_booking_001").await["deliveries"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["channel"] == "email").cloned())
            .unwrap_or(Value::Null)
    };
    wait_for("the email", 10, || async {
        email().await["status"] == "sent"
    })
    .await;
    email().await["provider_message_id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn generic(app: &TestApp, ts: &str, sig: &str, body: &str) -> (u16, Value) {
    let res = app
        .client
        .post(app.url("/api/v1/callbacks/generic"))
        .header("x-herald-timestamp", ts)
        .header("x-herald-signature", sig)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn a_generic_callback_signed_over_the_body_alone_is_refused(backend: Backend) {
    let Some(app) = relay_app(backend).await else {
        return;
    };
    let id = sent_email(&app).await;
    let body = json!({"provider_message_id": id, "status": "opened"}).to_string();
    // The old contract: HMAC of the body only.
    let old = {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    let (status, reply) = generic(&app, &unix(0), &old, &body).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["error"]["code"], "invalid_signature");
    let ts = unix(0);
    let (status, reply) = generic(
        &app,
        &ts,
        &generic_signature(SECRET, &ts, body.as_bytes()),
        &body,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["status"], "opened");
}

on_both!(a_generic_callback_signed_over_the_body_alone_is_refused);

async fn a_generic_callback_outside_the_window_is_refused(backend: Backend) {
    let Some(app) = relay_app(backend).await else {
        return;
    };
    let id = sent_email(&app).await;
    let body = json!({"provider_message_id": id, "status": "delivered"}).to_string();
    // Far beyond the 300 s default either way, so a slow machine cannot blur the edge.
    for ts in [unix(-900), unix(900)] {
        let sig = generic_signature(SECRET, &ts, body.as_bytes());
        let (status, reply) = generic(&app, &ts, &sig, &body).await;
        assert_eq!(status, 401, "{ts}: {reply}");
        assert_eq!(reply["error"]["code"], "stale_timestamp");
    }
    let bad = "yesterday";
    let (status, reply) = generic(
        &app,
        bad,
        &generic_signature(SECRET, bad, body.as_bytes()),
        &body,
    )
    .await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["error"]["code"], "invalid_timestamp");
    let ts = unix(-200);
    let (status, reply) = generic(
        &app,
        &ts,
        &generic_signature(SECRET, &ts, body.as_bytes()),
        &body,
    )
    .await;
    assert_eq!(status, 200, "inside the window: {reply}");
    assert_eq!(reply["applied"], true);
}

on_both!(a_generic_callback_outside_the_window_is_refused);

async fn an_exact_replay_of_a_generic_callback_is_refused(backend: Backend) {
    let Some(app) = relay_app(backend).await else {
        return;
    };
    let id = sent_email(&app).await;
    let body = json!({"provider_message_id": id, "status": "delivered"}).to_string();
    let ts = unix(0);
    let sig = generic_signature(SECRET, &ts, body.as_bytes());
    let (status, reply) = generic(&app, &ts, &sig, &body).await;
    assert_eq!(status, 200, "{reply}");
    let (status, reply) = generic(&app, &ts, &sig, &body).await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["error"]["code"], "replayed_callback");
    // The same report signed afresh is a new callback (forward-only, so nothing moves).
    let ts2 = unix(1);
    let (status, reply) = generic(
        &app,
        &ts2,
        &generic_signature(SECRET, &ts2, body.as_bytes()),
        &body,
    )
    .await;
    assert_eq!(status, 200, "{reply}");
}

on_both!(an_exact_replay_of_a_generic_callback_is_refused);

async fn a_failed_generic_callback_may_be_retried_with_the_same_signature(backend: Backend) {
    let Some(app) = relay_app(backend).await else {
        return;
    };
    let body = json!({"provider_message_id": "not-yet-known", "status": "delivered"}).to_string();
    let ts = unix(0);
    let sig = generic_signature(SECRET, &ts, body.as_bytes());
    for _ in 0..2 {
        let (status, reply) = generic(&app, &ts, &sig, &body).await;
        assert_eq!(status, 404, "recorded nothing, so not a replay: {reply}");
    }
}

on_both!(a_failed_generic_callback_may_be_retried_with_the_same_signature);

async fn a_sendgrid_event_with_a_stale_signed_timestamp_is_refused(backend: Backend) {
    use base64::Engine;
    use p256::ecdsa::signature::Signer;
    use p256::pkcs8::EncodePublicKey;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
    let public = b64.encode(key.verifying_key().to_public_key_der().unwrap().as_bytes());
    let Some(app) = spawn_app_with(backend, move |s| {
        s.sendgrid_webhook_public_key = Some(public)
    })
    .await
    else {
        return;
    };
    let body = json!([{"event": "delivered", "smtp-id": "<unknown@herald>"}]).to_string();
    let post = |ts: String| {
        let sig: p256::ecdsa::Signature = key.sign(&[ts.as_bytes(), body.as_bytes()].concat());
        app.client
            .post(app.url("/api/v1/callbacks/sendgrid"))
            .header(
                "x-twilio-email-event-webhook-signature",
                b64.encode(sig.to_der().as_bytes()),
            )
            .header("x-twilio-email-event-webhook-timestamp", ts)
            .body(body.clone())
            .send()
    };
    for ts in [unix(-900), unix(900)] {
        let res = post(ts.clone()).await.unwrap();
        assert_eq!(res.status(), 401, "{ts}");
        let reply: Value = res.json().await.unwrap();
        assert_eq!(reply["error"]["code"], "stale_timestamp");
    }
    let res = post(unix(0)).await.unwrap();
    assert_eq!(res.status(), 200);
    let reply: Value = res.json().await.unwrap();
    assert_eq!(reply["events"], 1);
}

on_both!(a_sendgrid_event_with_a_stale_signed_timestamp_is_refused);
