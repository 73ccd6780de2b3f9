//! SIGTERM while events stream in over RabbitMQ and emails are being sent:
//! after a restart on the same database every event made exactly one in-app
//! notification, and every email reached a relay at least once. The first
//! node's leases outlast the whole test, so the emails it was sending can
//! only reach the second node's relay in time if the drain released them.

use super::node::{admin, Node, NodeDb};
use crate::helpers::Backend;
use crate::on_both;
use crate::stubs::SmtpServer;
use lapin::options::*;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const EVENTS: usize = 300;
/// Published before the signal; the rest arrive while the node drains and after it exits.
const BEFORE_SIGNAL: usize = 100;
const DEADLINE_SECS: u64 = 6;
/// Longer than any drain budget: the first node cannot finish these sends.
const SLOW_RELAY: Duration = Duration::from_secs(10);
const LEASE_SECS: &str = "120";

fn amqp_url() -> String {
    std::env::var("HERALD_TEST_AMQP_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

async fn rabbitmq_reachable() -> bool {
    let ok = matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect("127.0.0.1:5672")
        )
        .await,
        Ok(Ok(_))
    );
    if !ok {
        if std::env::var("HERALD_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("HERALD_REQUIRE_SERVICES=1 but RabbitMQ at 127.0.0.1:5672 is unreachable");
        }
        eprintln!("\n!!! SKIPPED: RabbitMQ at 127.0.0.1:5672 is unreachable; start it, CI sets HERALD_REQUIRE_SERVICES=1\n");
    }
    ok
}

pub(super) fn pack() -> serde_json::Value {
    json!({
        "templates": [{
            "code": "drain_order", "locale": "en",
            "in_app": {"title": "Order {{ n }}", "body": "shipped"},
            "email": {"subject": "Order {{ n }}", "text": "order {{ n }} shipped", "html": "<p>order {{ n }}</p>"}
        }],
        "rules": [{
            "name": "drain orders", "event_pattern": "drain.order",
            "channels": ["in_app", "email"], "template_code": "drain_order",
            "category": "orders", "priority": "high"
        }]
    })
}

fn address(i: usize) -> String {
    format!("buyer{i:04}@example.com")
}

/// Every `To` address a relay received.
fn addresses(smtp: &SmtpServer) -> Vec<String> {
    let messages = smtp.messages.lock().expect("messages");
    messages
        .iter()
        .filter_map(|raw| {
            raw.split("\r\n\r\n").next()?.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("to").then(|| {
                    v.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string()
                })
            })
        })
        .collect()
}

async fn publish(ch: &Channel, exchange: &str, from: usize, to: usize, run: &str) {
    for i in from..to {
        let body = json!({"event_id": format!("{run}-{i}"), "event_type": "drain.order",
                          "user_id": format!("buyer{i:04}"), "user_email": address(i), "n": i});
        ch.basic_publish(
            exchange.into(),
            "drain.order".into(),
            BasicPublishOptions::default(),
            body.to_string().as_bytes(),
            BasicProperties::default().with_delivery_mode(2),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    }
}

/// (notifications, users with one, distinct events) in the database.
pub(super) async fn counts(db: &sea_orm::DatabaseConnection) -> (i64, i64, i64) {
    let sql = "SELECT (SELECT COUNT(*) FROM notifications), \
               (SELECT COUNT(DISTINCT user_id) FROM notifications), (SELECT COUNT(*) FROM events)";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("count query")
        .expect("a row");
    (
        row.try_get_by_index(0).expect("notifications"),
        row.try_get_by_index(1).expect("users"),
        row.try_get_by_index(2).expect("events"),
    )
}

async fn events_streaming_in_over_rabbitmq_at_sigterm_each_make_one_notification_after_a_restart(
    backend: Backend,
) {
    if !rabbitmq_reachable().await {
        return;
    }
    let Some(db) = NodeDb::create(backend).await else {
        return;
    };
    let run = uuid::Uuid::new_v4().simple().to_string();
    let (exchange, queue) = (
        format!("herald.drain.{run}"),
        format!("herald.drain.q.{run}"),
    );
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("amqp connect");
    let ch = conn.create_channel().await.expect("channel");
    // Declared before any node runs, so nothing published early is dropped.
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    ch.exchange_declare(
        exchange.as_str().into(),
        ExchangeKind::Topic,
        durable,
        FieldTable::default(),
    )
    .await
    .expect("exchange");
    let qopts = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    ch.queue_declare(queue.as_str().into(), qopts, FieldTable::default())
        .await
        .expect("queue");
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("bind");

    let (slow, fast) = (
        SmtpServer::start_slow(SLOW_RELAY).await,
        SmtpServer::start().await,
    );
    let common = |smtp: &SmtpServer| {
        vec![
            ("HERALD_AMQP_URL", amqp_url()),
            ("HERALD_AMQP_EXCHANGE", exchange.clone()),
            ("HERALD_AMQP_QUEUES", format!("{queue}=#")),
            ("HERALD_AMQP_PREFETCH", "64".to_string()),
            (
                "HERALD_SMTP_URL",
                format!("smtp://127.0.0.1:{}?tls=none", smtp.port),
            ),
            ("HERALD_DELIVERY_LEASE_SECS", LEASE_SECS.to_string()),
            ("HERALD_SHUTDOWN_DEADLINE_SECS", DEADLINE_SECS.to_string()),
        ]
    };
    let mut first_env = common(&slow);
    first_env.push(("HERALD_DELIVERY_CONCURRENCY", "4".to_string()));
    let mut first = Node::start(&db, &first_env).await;
    let imported = admin(&first, Method::POST, "/api/v1/import")
        .json(&pack())
        .send()
        .await
        .expect("import");
    assert_eq!(imported.status(), 200);
    let store = sea_orm::Database::connect(db.url.as_str())
        .await
        .expect("db");
    crate::helpers::wait_for("the rabbitmq consumer", 15, || async {
        let ready: serde_json::Value = match reqwest::get(format!("{}/ready", first.base)).await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => return false,
        };
        ready["components"]["rabbitmq"] == "connected"
    })
    .await;

    publish(&ch, &exchange, 0, BEFORE_SIGNAL, &run).await;
    crate::helpers::wait_for("the first node to be committing events", 20, || async {
        counts(&store).await.0 > 0
    })
    .await;
    let signalled = Instant::now();
    first.sigterm();
    publish(&ch, &exchange, BEFORE_SIGNAL, EVENTS, &run).await;
    let status = first
        .exited_within(Duration::from_secs(DEADLINE_SECS + 2))
        .await
        .expect("the first node exited");
    let drain = signalled.elapsed();
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        first.log_tail()
    );
    assert!(
        drain <= Duration::from_secs(DEADLINE_SECS),
        "drain took {drain:?}"
    );
    let log = first.log();
    assert!(
        log.contains("released the leases of unfinished sends"),
        "the slow sends were not released:\n{}",
        first.log_tail()
    );
    let (at_exit, _, _) = counts(&store).await;

    let second = Node::start(&db, &common(&fast)).await;
    let started = Instant::now();
    crate::helpers::wait_for("every event's notification", 60, || async {
        counts(&store).await.2 >= EVENTS as i64
    })
    .await;
    // Well within the first node's 120 s leases: only released sends can be back by now.
    crate::helpers::wait_for("every email at a relay", 60, || async {
        let seen: HashSet<String> = addresses(&slow)
            .into_iter()
            .chain(addresses(&fast))
            .collect();
        seen.len() >= EVENTS
    })
    .await;
    let caught_up = started.elapsed();
    tokio::time::sleep(Duration::from_secs(1)).await; // late duplicates
    let (notifications, users, events) = counts(&store).await;
    assert_eq!(events, EVENTS as i64, "events recorded");
    assert_eq!(
        notifications, EVENTS as i64,
        "one notification per event, none doubled"
    );
    assert_eq!(users, EVENTS as i64, "each buyer has exactly one");
    let sent: Vec<String> = addresses(&slow)
        .into_iter()
        .chain(addresses(&fast))
        .collect();
    let distinct: HashSet<&String> = sent.iter().collect();
    assert!(
        (0..EVENTS).all(|i| distinct.contains(&address(i))),
        "an email never arrived"
    );
    println!(
        "MEASURED ({backend:?}): SIGTERM with {BEFORE_SIGNAL} events published and 4 slow sends in flight: \
         exit after {drain:.2?} ({at_exit} notifications committed by then); the restarted node had all \
         {EVENTS} notifications and emails {caught_up:.2?} after starting; emails sent {} times for {EVENTS} \
         addresses",
        sent.len()
    );
    drop(second);
    let _ = ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    let _ = ch
        .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
        .await;
}

on_both!(events_streaming_in_over_rabbitmq_at_sigterm_each_make_one_notification_after_a_restart,);
