//! `herald send`: one POST /send through the running server.

use super::common::{against, assert_no_panic, herald};
use crate::helpers::TestApp;
use crate::on_both_databases;
use serde_json::json;

async fn herald_send_prints_each_channels_outcome_and_the_notification_exists(app: TestApp) {
    let run = herald(
        &[
            "send",
            "cli-user",
            "--title",
            "Hello",
            "--body",
            "It works",
            "--channel",
            "in_app,email",
            "--category",
            "billing",
            "--priority",
            "high",
            "--request-id",
            "cli-1",
            "--data",
            r#"{"k":1}"#,
        ],
        &against(&app),
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.both());
    assert!(run.stdout.starts_with("notification "), "{}", run.both());
    assert!(
        run.stdout.contains("  in_app  accepted\n"),
        "{}",
        run.both()
    );
    // The user has no email address yet.
    assert!(run.stdout.contains("  email   skipped\n"), "{}", run.both());

    let token = app.token("cli-user").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    let n = &page["items"][0];
    assert_eq!(n["title"], "Hello");
    assert_eq!(n["category"], "billing");
    assert_eq!(n["data"]["k"], json!(1));

    let again = herald(
        &[
            "send",
            "cli-user",
            "--title",
            "Hello",
            "--request-id",
            "cli-1",
        ],
        &against(&app),
        None,
    )
    .await;
    assert_eq!(again.code, 0, "{}", again.both());
    assert!(again.stdout.contains("was sent before"), "{}", again.both());
}

async fn herald_send_with_a_bad_channel_or_key_exits_1_with_the_servers_reason(app: TestApp) {
    let run = herald(
        &["send", "cli-user", "--title", "x", "--channel", "fax"],
        &against(&app),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("422 invalid_channel"), "{}", run.both());
    assert_no_panic(&run);

    let mut env = against(&app);
    env[1].1 = "not-a-key".into();
    let run = herald(&["send", "cli-user", "--title", "x"], &env, None).await;
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(run.stderr.contains("401"), "{}", run.both());
    assert!(!run.both().contains("not-a-key"), "{}", run.both());
}

on_both_databases!(
    herald_send_prints_each_channels_outcome_and_the_notification_exists,
    herald_send_with_a_bad_channel_or_key_exits_1_with_the_servers_reason,
);
