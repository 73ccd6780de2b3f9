//! RabbitMQ and Redis ingestion against the real brokers on this machine.
//! A test that cannot reach its broker says so loudly, and fails when
//! HERALD_REQUIRE_SERVICES=1 (CI).

use crate::events::{assert_seed_001_outcome, audit, import, movie_pack, seed_events};
use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::on_both;
use futures_util::StreamExt;
use lapin::options::*;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use redis::AsyncCommands;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;

/// Tests that touch the broker itself (the restart test) must not overlap the others.
pub(crate) static BROKER: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

pub(crate) fn amqp_url() -> String {
    std::env::var("HERALD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

pub(crate) fn redis_url() -> String {
    std::env::var("HERALD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

pub(crate) async fn reachable(name: &str, addr: &str) -> bool {
    let ok = matches!(
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await,
        Ok(Ok(_))
    );
    if !ok {
        if std::env::var("HERALD_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("HERALD_REQUIRE_SERVICES=1 but {name} at {addr} is unreachable");
        }
        eprintln!("\n!!! SKIPPED: {name} at {addr} is unreachable; start it, CI sets HERALD_REQUIRE_SERVICES=1\n");
    }
    ok
}

pub(crate) async fn amqp_channel() -> (Connection, Channel) {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("amqp connect");
    let ch = conn.create_channel().await.expect("channel");
    (conn, ch)
}

pub(crate) async fn publish(ch: &Channel, exchange: &str, key: &str, body: &[u8]) {
    ch.basic_publish(
        exchange.into(),
        key.into(),
        BasicPublishOptions::default(),
        body,
        BasicProperties::default().with_delivery_mode(2),
    )
    .await
    .expect("publish")
    .await
    .expect("confirm");
}

async fn component(app: &TestApp, name: &str) -> String {
    let ready = app.ready().await;
    ready["components"][name]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub(crate) async fn feed_len(app: &TestApp, user: &str) -> usize {
    let token = app.token(user).await;
    let (_, page) = app
        .get_json(&token, "/api/v1/notifications?limit=100")
        .await;
    page["items"].as_array().map(Vec::len).unwrap_or(0)
}

pub(crate) async fn amqp_app(
    backend: Backend,
    exchange: &str,
    queues: &str,
    db: Option<String>,
) -> Option<TestApp> {
    let (exchange, queues) = (exchange.to_string(), queues.to_string());
    let app = spawn_app_with(backend, move |s| {
        s.amqp_url = Some(SecretString::from(amqp_url()));
        s.amqp_exchange = exchange;
        s.amqp_queues = queues;
        if let Some(db) = db {
            s.database_url = Some(SecretString::from(db));
        }
    })
    .await?;
    wait_for("the rabbitmq consumer", 15, || async {
        component(&app, "rabbitmq").await == "connected"
    })
    .await;
    Some(app)
}

pub(crate) async fn delete_queues(ch: &Channel, names: &[&str]) {
    for q in names {
        let _ = ch
            .queue_delete((*q).into(), QueueDeleteOptions::default())
            .await;
    }
}

async fn seed_001_events_published_to_rabbitmq_become_notifications(backend: Backend) {
    // Taken first: the broker-restart test stops RabbitMQ while it holds this exclusively.
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let (qb, qp) = (
        format!("notification.booking_events.{s}"),
        format!("notification.payment_events.{s}"),
    );
    // The movie app's exchange and routing keys, unchanged.
    let Some(app) = amqp_app(
        backend,
        "movie_app_events",
        &format!("{qb}=booking.*;{qp}=payment.*"),
        None,
    )
    .await
    else {
        return;
    };
    import(&app, &movie_pack()).await;
    let (_conn, ch) = amqp_channel().await;
    for (key, body) in seed_events() {
        publish(&ch, "movie_app_events", &key, body.to_string().as_bytes()).await;
    }
    wait_for("six notifications", 20, || async {
        feed_len(&app, "user_123").await >= 6
    })
    .await;
    assert_seed_001_outcome(&app).await;
    assert_eq!(
        audit(&app, "evt_payment_003").await["source"],
        format!("amqp:{qp}")
    );
    delete_queues(&ch, &[&qb, &qp]).await;
}

async fn one_event_on_two_queues_and_published_twice_notifies_once(backend: Backend) {
    // Taken first: the broker-restart test stops RabbitMQ while it holds this exclusively.
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let (ex, q1, q2) = (
        format!("herald_test_{s}"),
        format!("dup_a_{s}"),
        format!("dup_b_{s}"),
    );
    let Some(app) = amqp_app(
        backend,
        &ex,
        &format!("{q1}=booking.*;{q2}=booking.#"),
        None,
    )
    .await
    else {
        return;
    };
    import(&app, &movie_pack()).await;
    let (_conn, ch) = amqp_channel().await;
    let (key, body) = &seed_events()[0];
    for _ in 0..3 {
        publish(&ch, &ex, key, body.to_string().as_bytes()).await;
    }
    wait_for("the event to be processed", 20, || async {
        feed_len(&app, "user_123").await >= 1
    })
    .await;
    // All six deliveries settle, and still one notification.
    wait_for("both queues to drain", 20, || async {
        let mut empty = true;
        for q in [&q1, &q2] {
            let info = ch
                .queue_declare(
                    q.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    },
                    FieldTable::default(),
                )
                .await
                .unwrap();
            empty &= info.message_count() == 0;
        }
        empty
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(feed_len(&app, "user_123").await, 1);
    delete_queues(&ch, &[&q1, &q2]).await;
}

async fn bad_messages_are_dead_lettered_with_a_reason_and_the_consumer_keeps_going(
    backend: Backend,
) {
    // Taken first: the broker-restart test stops RabbitMQ while it holds this exclusively.
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let (ex, q) = (format!("herald_test_{s}"), format!("bad_{s}"));
    let Some(app) = amqp_app(backend, &ex, &format!("{q}=#"), None).await else {
        return;
    };
    import(&app, &movie_pack()).await;
    let (_conn, ch) = amqp_channel().await;
    // A private copy of everything sent to the dead-letter exchange.
    let copy = ch
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    ch.queue_bind(
        copy.name().clone(),
        "herald.dead-letter".into(),
        "".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let bad: Vec<(&str, String)> = vec![
        ("booking.confirmed", format!("{{not json {s}")),
        ("unknown.type", json!({"event_id": format!("u-{s}"), "marker": s}).to_string()),
        ("booking.confirmed", json!({"event_id": format!("m-{s}"), "movie_title": "M", "marker": s}).to_string()),
        ("booking.confirmed", json!({"event_id": format!("t-{s}"), "user_id": "u", "booking_id": "B", "movie_title": "M", "marker": s}).to_string()),
        // A raw NUL byte, which PostgreSQL text cannot hold: still parked, with U+FFFD in its place.
        ("booking.confirmed", format!("{{\"event_id\": \"n-{s}\", \"x\": \"a\0b\"}}")),
    ];
    for (key, body) in &bad {
        publish(&ch, &ex, key, body.as_bytes()).await;
    }
    let mut good = seed_events()[3].1.clone();
    good["event_id"] = json!(format!("good-{s}"));
    publish(&ch, &ex, "payment.success", good.to_string().as_bytes()).await;
    wait_for("the good event after the bad ones", 20, || async {
        feed_len(&app, "user_123").await >= 1
    })
    .await;
    let reasons = || async {
        let list: Value = app
            .admin(Method::GET, "/api/v1/dead-letters")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["reason"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    wait_for("five dead letters", 20, || async {
        reasons().await.len() >= 5
    })
    .await;
    let all = reasons().await.join(" | ");
    for expected in [
        "not JSON",
        "no enabled rule matches event type 'unknown.type'",
        "missing user id",
        "undefined",
    ] {
        assert!(all.contains(expected), "{expected} in {all}");
    }
    // The reason travels in a header on the dead-letter exchange.
    let mut consumer = ch
        .basic_consume(
            copy.name().clone(),
            "dlq-check".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut mine = 0;
    while mine < 4 {
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .expect("dead letter copy")
            .unwrap()
            .unwrap();
        if String::from_utf8_lossy(&d.data).contains(&s) {
            let headers = d.properties.headers().clone().unwrap_or_default();
            assert!(
                headers.inner().contains_key("x-herald-reason"),
                "{headers:?}"
            );
            mine += 1;
        }
    }
    delete_queues(&ch, &[&q]).await;
}

async fn a_crash_between_commit_and_ack_creates_nothing_twice(backend: Backend) {
    // Taken first: the broker-restart test stops RabbitMQ while it holds this exclusively.
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let (ex, q) = (format!("herald_test_{s}"), format!("crash_{s}"));
    // Node 1 has no consumer; this test plays its consumer and "crashes" after commit.
    let Some(node1) = spawn_app_with(backend, |_| {}).await else {
        return;
    };
    import(&node1, &movie_pack()).await;
    let (_conn, ch) = amqp_channel().await;
    ch.exchange_declare(
        ex.as_str().into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        q.as_str().into(),
        QueueDeclareOptions {
            durable: true,
            ..Default::default()
        },
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        q.as_str().into(),
        ex.as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    let (key, body) = &seed_events()[0];
    publish(&ch, &ex, key, body.to_string().as_bytes()).await;
    {
        let (conn2, ch2) = amqp_channel().await;
        let mut consumer = ch2
            .basic_consume(
                q.as_str().into(),
                "crashy".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let d = tokio::time::timeout(Duration::from_secs(10), consumer.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let res = node1
            .admin(Method::POST, "/api/v1/events")
            .header("content-type", "application/json")
            .body(d.data.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202, "committed");
        // Crash: the connection goes away without an ack, so the broker redelivers.
        conn2.close(320, "simulated crash".into()).await.unwrap();
    }
    let db = node1.database_url.clone();
    let Some(node2) = amqp_app(backend, &ex, &format!("{q}=#"), Some(db)).await else {
        return;
    };
    wait_for("the redelivery to be settled", 20, || async {
        let info = ch
            .queue_declare(
                q.as_str().into(),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        info.message_count() == 0 && info.consumer_count() > 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        feed_len(&node2, "user_123").await,
        1,
        "nothing was created twice"
    );
    let ready = node2.ready().await;
    assert!(
        ready["duplicate_count"].as_u64().unwrap() >= 1,
        "the redelivery was recognised: {ready}"
    );
    delete_queues(&ch, &[&q]).await;
}

on_both!(
    seed_001_events_published_to_rabbitmq_become_notifications,
    one_event_on_two_queues_and_published_twice_notifies_once,
    bad_messages_are_dead_lettered_with_a_reason_and_the_consumer_keeps_going,
    a_crash_between_commit_and_ack_creates_nothing_twice
);

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_broker_restart_mid_stream_loses_nothing() {
    // Taken first: the broker-restart test stops RabbitMQ while it holds this exclusively.
    let _exclusive = BROKER.write().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let (ex, q) = (format!("herald_test_{s}"), format!("restart_{s}"));
    let app = amqp_app(Backend::Sqlite, &ex, &format!("{q}=#"), None)
        .await
        .unwrap();
    import(&app, &movie_pack()).await;
    let event = |i: usize| {
        let mut e = seed_events()[3].1.clone();
        e["event_id"] = json!(format!("r-{s}-{i}"));
        e["user_id"] = json!(format!("restart-{s}"));
        e.to_string()
    };
    {
        let (conn, ch) = amqp_channel().await;
        for i in 0..30 {
            publish(&ch, &ex, "payment.success", event(i).as_bytes()).await;
        }
        let _ = conn.close(200, "bye".into()).await;
    }
    let ctl = |args: &[&str]| {
        let out = std::process::Command::new("rabbitmqctl")
            .args(args)
            .output()
            .expect("rabbitmqctl");
        assert!(
            out.status.success(),
            "rabbitmqctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Whatever happens below, the broker comes back for the tests that follow.
    struct Restart;
    impl Drop for Restart {
        fn drop(&mut self) {
            let _ = std::process::Command::new("rabbitmqctl")
                .arg("start_app")
                .output();
        }
    }
    let _restart = Restart;
    ctl(&["stop_app"]);
    wait_for("herald to notice the outage", 20, || async {
        component(&app, "rabbitmq").await != "connected"
    })
    .await;
    let ready = app.ready().await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    ctl(&["start_app"]);
    wait_for("herald to reconnect", 60, || async {
        component(&app, "rabbitmq").await == "connected"
    })
    .await;
    {
        let (conn, ch) = amqp_channel().await;
        for i in 30..60 {
            publish(&ch, &ex, "payment.success", event(i).as_bytes()).await;
        }
        wait_for("all 60 events", 30, || async {
            feed_len(&app, &format!("restart-{s}")).await >= 60
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            feed_len(&app, &format!("restart-{s}")).await,
            60,
            "nothing lost, nothing doubled"
        );
        delete_queues(&ch, &[&q]).await;
        let _ = conn.close(200, "bye".into()).await;
    }
}

pub(crate) async fn redis_app(backend: Backend, channels: &str, streams: &str) -> Option<TestApp> {
    let (channels, streams) = (channels.to_string(), streams.to_string());
    let app = spawn_app_with(backend, move |s| {
        s.redis_url = Some(SecretString::from(redis_url()));
        s.redis_channels = channels;
        s.redis_streams = streams;
        s.redis_claim_idle_ms = 400;
    })
    .await?;
    wait_for("the redis sources", 15, || async {
        component(&app, "redis").await == "connected"
    })
    .await;
    Some(app)
}

fn inventory_pack() -> Value {
    serde_json::from_str(include_str!("../../examples/inventory/pack.json")).unwrap()
}

async fn redis_pub_sub_and_streams_feed_the_pipeline(backend: Backend) {
    if !reachable("Redis", "127.0.0.1:6379").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let stream = format!("inventory:low-stock:stream:{s}");
    // The inventory channel, as is; the stream gets a unique name so parallel tests do not share a group.
    let Some(app) = redis_app(backend, "inventory:low-stock", &stream).await else {
        return;
    };
    import(&app, &inventory_pack()).await;
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let manager = format!("manager-{s}");
    // Pub/sub: no type in the body, so the channel is the type.
    let msg = json!({"sku": "SKU-1", "product_name": "Popcorn", "current_stock": 3, "threshold": 10, "user_id": manager});
    let _: () = conn
        .publish("inventory:low-stock", msg.to_string())
        .await
        .unwrap();
    wait_for("the pub/sub alert", 15, || async {
        feed_len(&app, &manager).await >= 1
    })
    .await;
    // Streams: a typed event in an `event` field, XACKed after commit.
    let ev = json!({"event_id": format!("ls-{s}"), "event_type": "inventory.low_stock", "sku": "SKU-2", "current_stock": 1, "threshold": 5, "user_id": manager});
    let _: String = conn
        .xadd(&stream, "*", &[("event", ev.to_string())])
        .await
        .unwrap();
    wait_for("the stream alert", 15, || async {
        feed_len(&app, &manager).await >= 2
    })
    .await;
    let token = app.token(&manager).await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Low stock: Popcorn") && titles.contains(&"Low stock: SKU-2"),
        "{titles:?}"
    );
    wait_for("the entry to be acknowledged", 10, || async {
        let pending: redis::Value = redis::cmd("XPENDING")
            .arg(&stream)
            .arg("herald")
            .query_async(&mut conn.clone())
            .await
            .unwrap();
        matches!(&pending, redis::Value::Array(v) if v.first() == Some(&redis::Value::Int(0)))
    })
    .await;
    // The fast idempotency key.
    let status: Option<String> = conn.get(format!("event:ls-{s}:status")).await.unwrap();
    assert_eq!(status.as_deref(), Some("processed"));
    // An entry another consumer read and never acknowledged is claimed and processed.
    let orphan = json!({"event_id": format!("orphan-{s}"), "event_type": "inventory.low_stock", "sku": "SKU-3", "current_stock": 0, "threshold": 5, "user_id": manager});
    let _: String = conn
        .xadd(&stream, "*", &[("event", orphan.to_string())])
        .await
        .unwrap();
    let _: redis::Value = redis::cmd("XREADGROUP")
        .arg("GROUP")
        .arg("herald")
        .arg("crashed-consumer")
        .arg("COUNT")
        .arg(1)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .query_async(&mut conn)
        .await
        .unwrap();
    wait_for("the orphan to be claimed", 20, || async {
        feed_len(&app, &manager).await >= 3
    })
    .await;
    let _: () = conn.del(&stream).await.unwrap();
}

on_both!(redis_pub_sub_and_streams_feed_the_pipeline);

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn seed_001s_own_pika_snippet_works_unchanged() {
    // Taken first: the broker-restart test stops RabbitMQ while it holds this exclusively.
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let q = format!("notification.booking_events.snippet.{s}");
    let app = amqp_app(
        Backend::Sqlite,
        "movie_app_events",
        &format!("{q}=booking.*"),
        None,
    )
    .await
    .unwrap();
    import(&app, &movie_pack()).await;
    let (_conn, ch) = amqp_channel().await;
    // A typical publisher's mock event body, unchanged.
    let event = json!({"event_id": "test_001", "event_type": "booking.confirmed", "user_email": "test@example.com",
        "booking_id": "TEST-123", "movie_title": "Test Movie", "showtime": "2024-12-15 7:30 PM",
        "seats": ["A1"], "total_amount": 15.00});
    publish(
        &ch,
        "movie_app_events",
        "booking.confirmed",
        event.to_string().as_bytes(),
    )
    .await;
    wait_for("the snippet's notification", 20, || async {
        feed_len(&app, "test@example.com").await >= 1
    })
    .await;
    let token = app.token("test@example.com").await;
    let (_, page) = app.get_json(&token, "/api/v1/notifications").await;
    assert_eq!(page["items"][0]["title"], "Booking confirmed: Test Movie");
    let a = audit(&app, "test_001").await;
    let email = a["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["channel"] == "email")
        .unwrap()
        .clone();
    assert_eq!(email["content"]["to"], "test@example.com");
    delete_queues(&ch, &[&q]).await;
}
