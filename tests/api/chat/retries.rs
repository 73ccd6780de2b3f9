//! Rate limits are honoured and answers are classified: a 429's wait comes
//! from the service, Slack's `ok: false` decides between retry and failure.

use super::common::*;
use crate::helpers::Backend;
use crate::on_both;
use crate::stubs::HttpStub;
use serde_json::{json, Value};

fn first_error(d: &Value) -> String {
    d["attempts_history"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn a_discord_429_is_retried_after_its_retry_after_and_then_succeeds(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let discord = HttpStub::start(vec![
        (
            429,
            r#"{"message":"You are being rate limited.","retry_after":1.0,"global":false}"#.into(),
        ),
        (204, String::new()),
    ])
    .await;
    set_destination(
        &app,
        "ada",
        "discord",
        json!({"webhook_url": hook(&discord, "/d")}),
    )
    .await;
    send_chat(&app, "ada", "r1", &["discord"]).await;
    let d = wait_for_status(&app, "ada", "r1", "discord", "sent").await;
    assert_eq!(discord.recorded().len(), 2, "one refusal, one success");
    assert!(first_error(&d).contains("rate limited"), "{d}");
}

async fn a_slack_429_with_a_retry_after_header_is_retried_and_then_succeeds(backend: Backend) {
    let Some(app) = chat_app(backend, None).await else {
        return;
    };
    let slack = HttpStub::start_with_headers(
        vec![(429, "rate_limited".into()), (200, "ok".into())],
        vec![(429, "Retry-After", "1".into())],
    )
    .await;
    set_destination(
        &app,
        "ada",
        "slack",
        json!({"webhook_url": hook(&slack, "/s")}),
    )
    .await;
    send_chat(&app, "ada", "r1", &["slack"]).await;
    let d = wait_for_status(&app, "ada", "r1", "slack", "sent").await;
    assert_eq!(slack.recorded().len(), 2);
    assert!(first_error(&d).contains("HTTP 429"), "{d}");
}

async fn slack_bot_answers_with_ok_false_are_retried_or_failed_by_their_error(backend: Backend) {
    let api = HttpStub::start(vec![
        (200, r#"{"ok":false,"error":"ratelimited"}"#.into()),
        (
            200,
            r#"{"ok":true,"channel":"C0123ABCD","ts":"1700000000.000100"}"#.into(),
        ),
        (200, r#"{"ok":false,"error":"channel_not_found"}"#.into()),
    ])
    .await;
    let Some(app) = chat_app(backend, Some(api.port)).await else {
        return;
    };
    let (s, v) = set_destination(&app, "ada", "slack", json!({"channel": "C0123ABCD"})).await;
    assert_eq!(
        (s, v["destination"].as_str()),
        (200, Some("C0123ABCD")),
        "{v}"
    );
    send_chat(&app, "ada", "r1", &["slack"]).await;
    let d = wait_for_status(&app, "ada", "r1", "slack", "sent").await;
    assert_eq!(d["provider_message_id"], "1700000000.000100", "{d}");
    assert_eq!(first_error(&d), "slack: ratelimited");
    let calls = api.recorded();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].path, "/api/chat.postMessage");
    assert_eq!(
        calls[0].header("authorization"),
        Some(format!("Bearer {BOT_TOKEN}").as_str())
    );
    assert_eq!(body_of(&api, 0)["channel"], "C0123ABCD");
    send_chat(&app, "ada", "r2", &["slack"]).await;
    let d = wait_for_status(&app, "ada", "r2", "slack", "dead").await;
    assert_eq!(api.recorded().len(), 3, "a permanent error is not retried");
    assert!(d.to_string().contains("slack: channel_not_found"), "{d}");
}

on_both!(
    a_discord_429_is_retried_after_its_retry_after_and_then_succeeds,
    a_slack_429_with_a_retry_after_header_is_retried_and_then_succeeds,
    slack_bot_answers_with_ok_false_are_retried_or_failed_by_their_error,
);
