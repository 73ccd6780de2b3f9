//! `herald events publish`: a file or stdin, over HTTP and to RabbitMQ.

use super::common::{against, assert_no_panic, herald};
use crate::events::{import, movie_pack, seed_events};
use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::sources::{amqp_url, reachable, BROKER};
use crate::{on_both, on_both_databases};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};

/// The movie app's booking confirmation under a fresh id.
fn booking(id: &str) -> Value {
    let mut event = seed_events()[0].1.clone();
    event["event_id"] = json!(id);
    event
}

async fn audited(app: &TestApp, id: &str) -> bool {
    let res = app
        .admin(Method::GET, &format!("/api/v1/events/{id}"))
        .send()
        .await
        .expect("audit");
    res.status() == 200
}

async fn events_published_over_http_print_a_line_each_and_a_summary(app: TestApp) {
    import(&app, &movie_pack()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("events.json");
    let events = json!([booking("cli-http-1"), {"event_id": "cli-http-2", "user_id": "u"}]);
    std::fs::write(&file, events.to_string()).expect("write events");
    let run = herald(
        &["events", "publish", file.to_str().expect("path")],
        &against(&app),
        None,
    )
    .await;
    assert_eq!(run.code, 1, "one event has no type:\n{}", run.both());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines[0].starts_with("ok    cli-http-1: processed (1 notifications"),
        "{}",
        run.both()
    );
    assert!(
        lines[1].starts_with("FAIL  #2 cli-http-2: 422 "),
        "{}",
        run.both()
    );
    assert_eq!(lines[2], "2 events: 1 ok, 1 failed");
    assert_no_panic(&run);
    assert!(audited(&app, "cli-http-1").await);

    // NDJSON on stdin; a repeat is a duplicate, not a second notification.
    let ndjson = format!("{}\n{}\n", booking("cli-http-3"), booking("cli-http-1"));
    let run = herald(&["events", "publish", "-"], &against(&app), Some(ndjson)).await;
    assert_eq!(run.code, 0, "{}", run.both());
    assert!(
        run.stdout.contains("ok    cli-http-1: duplicate"),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.ends_with("2 events: 2 ok, 0 failed\n"),
        "{}",
        run.both()
    );
}

async fn events_published_to_rabbitmq_reach_the_consuming_server(backend: Backend) {
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (exchange, queue) = (format!("cli-test-{tag}"), format!("cli-test-{tag}"));
    let (ex, q) = (exchange.clone(), format!("{queue}=#"));
    let Some(app) = spawn_app_with(backend, move |s| {
        s.amqp_url = Some(SecretString::from(amqp_url()));
        s.amqp_exchange = ex;
        s.amqp_queues = q;
    })
    .await
    else {
        return;
    };
    wait_for("the rabbitmq consumer", 15, || async {
        app.ready().await["components"]["rabbitmq"] == "connected"
    })
    .await;
    import(&app, &movie_pack()).await;
    let id = format!("cli-amqp-{tag}");
    let mut env = against(&app);
    env.push(("HERALD_AMQP_URL", amqp_url()));
    env.push(("HERALD_AMQP_EXCHANGE", exchange.clone()));
    let body = format!("{}\n{{\"event_id\":\"x\"}}\n", booking(&id));
    let run = herald(
        &["events", "publish", "--via", "amqp", "-"],
        &env,
        Some(body),
    )
    .await;
    assert_eq!(run.code, 1, "the second event has no type:\n{}", run.both());
    assert!(
        run.stdout.contains(&format!(
            "ok    {id}: published to {exchange} with routing key booking.confirmed"
        )),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains("FAIL  #2 x: event has no type"),
        "{}",
        run.both()
    );
    assert!(!run.both().contains("guest:guest"), "{}", run.both());
    wait_for("the event from RabbitMQ", 15, || audited(&app, &id)).await;

    if let Ok(conn) = lapin::Connection::connect(&amqp_url(), Default::default()).await {
        if let Ok(ch) = conn.create_channel().await {
            let _ = ch
                .queue_delete(queue.as_str().into(), Default::default())
                .await;
            let _ = ch
                .exchange_delete(exchange.as_str().into(), Default::default())
                .await;
        }
    }
}

on_both_databases!(events_published_over_http_print_a_line_each_and_a_summary);
on_both!(events_published_to_rabbitmq_reach_the_consuming_server);
