//! `herald deliveries show`: a delivery and its attempts, as text and JSON.

use super::common::{against, assert_no_panic, herald};
use crate::helpers::TestApp;
use crate::on_both_databases;
use reqwest::Method;
use serde_json::{json, Value};

async fn deliveries_show_prints_a_sent_email_with_its_attempts(app: TestApp) {
    let res = app
        .admin(Method::PUT, "/api/v1/users/cli-mail")
        .json(&json!({"email": "cli-mail@example.com"}))
        .send()
        .await
        .expect("put user");
    assert!(res.status().is_success());
    let res = app
        .send(json!({"user_id": "cli-mail", "channels": ["email"], "title": "Receipt", "body": "Thanks",
                     "request_id": "cli-mail-1"}))
        .await;
    assert_eq!(res.status(), 202);
    // Without SMTP settings the email is written as a file, so it is sent at once.
    let mut delivery = Value::Null;
    for _ in 0..150 {
        let v: Value = app
            .admin(
                Method::GET,
                "/api/v1/deliveries?user_id=cli-mail&request_id=cli-mail-1",
            )
            .send()
            .await
            .expect("deliveries")
            .json()
            .await
            .expect("json");
        delivery = v["items"][0].clone();
        if delivery["status"] == "sent" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(delivery["status"], "sent", "{delivery}");
    let id = delivery["id"].as_str().expect("delivery id").to_string();

    let run = herald(&["deliveries", "show", &id], &against(&app), None).await;
    assert_eq!(run.code, 0, "{}", run.both());
    assert!(
        run.stdout
            .starts_with(&format!("delivery {id}  email  sent\n")),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains("  request id    cli-mail-1\n"),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains("cli-mail@example.com"),
        "{}",
        run.both()
    );
    assert!(run.stdout.contains("history:\n  #1 "), "{}", run.both());

    let run = herald(&["deliveries", "show", &id, "--json"], &against(&app), None).await;
    assert_eq!(run.code, 0, "{}", run.both());
    let v: Value = serde_json::from_str(&run.stdout).expect("json output");
    assert_eq!(v["id"], json!(id));
    assert_eq!(v["attempts_history"][0]["outcome"], "sent");

    let run = herald(&["deliveries", "show", "not-a-uuid"], &against(&app), None).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("'not-a-uuid' is not a delivery id"),
        "{}",
        run.both()
    );
    let missing = uuid::Uuid::now_v7().to_string();
    let run = herald(&["deliveries", "show", &missing], &against(&app), None).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!("no delivery {missing}")),
        "{}",
        run.both()
    );
    assert_no_panic(&run);
}

on_both_databases!(deliveries_show_prints_a_sent_email_with_its_attempts);
