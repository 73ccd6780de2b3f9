//! CloudEvents over RabbitMQ: structured mode in the body, binary mode in
//! `cloudEvents:*` application properties (the AMQP binding), and a
//! malformed one dead-lettered with its reason.

use super::{dead_letter_reasons, greeting_pack, structured, titles};
use crate::helpers::{wait_for, Backend};
use crate::on_both;
use crate::sources::{amqp_app, amqp_channel, delete_queues, publish, reachable, BROKER};
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use serde_json::json;

async fn publish_binary(ch: &lapin::Channel, exchange: &str, attrs: &[(&str, &str)], data: &[u8]) {
    let mut headers = FieldTable::default();
    for (k, v) in attrs {
        headers.insert((*k).into(), AMQPValue::LongString((*v).into()));
    }
    ch.basic_publish(
        exchange.into(),
        "ce.greeting".into(),
        BasicPublishOptions::default(),
        data,
        BasicProperties::default()
            .with_headers(headers)
            .with_content_type("application/json".into())
            .with_delivery_mode(2),
    )
    .await
    .expect("publish")
    .await
    .expect("confirm");
}

async fn cloudevents_over_rabbitmq_in_both_modes_dedupe_route_and_dead_letter(backend: Backend) {
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let (ex, q) = (format!("herald_test_ce_{s}"), format!("ce_{s}"));
    let Some(app) = amqp_app(backend, &ex, &format!("{q}=#"), None).await else {
        return;
    };
    greeting_pack(&app).await;
    let user = format!("ce-amqp-{s}");
    let (_conn, ch) = amqp_channel().await;
    let event = structured(&format!("ce-s-{s}"), &user).to_string();
    for _ in 0..2 {
        publish(&ch, &ex, "any.key", event.as_bytes()).await;
    }
    let id = format!("ce-b-{s}");
    // The three spellings clients use for application properties.
    let attrs = [
        ("cloudEvents:specversion", "1.0"),
        ("cloudEvents_id", id.as_str()),
        ("ce_type", "ce.greeting"),
        ("cloudEvents:source", "urn:amqp"),
    ];
    let data = json!({"user_id": user, "name": "Lin"}).to_string();
    for _ in 0..2 {
        publish_binary(&ch, &ex, &attrs, data.as_bytes()).await;
    }
    // No id: refused and dead-lettered with the reason.
    publish_binary(
        &ch,
        &ex,
        &[
            ("cloudEvents:specversion", "1.0"),
            ("cloudEvents:type", "ce.greeting"),
            ("cloudEvents:source", "s"),
        ],
        data.as_bytes(),
    )
    .await;
    wait_for("two notifications", 20, || async {
        titles(&app, &user).await.len() >= 2
    })
    .await;
    wait_for("the dead letter", 20, || async {
        dead_letter_reasons(&app)
            .await
            .iter()
            .any(|r| r.contains("'id' is missing"))
    })
    .await;
    let mut got = titles(&app, &user).await;
    got.sort();
    assert_eq!(got, vec!["Hello Ada", "Hello Lin"], "each CloudEvent once");
    let trail = crate::events::audit(&app, &id).await;
    assert_eq!(trail["outcome"]["meta"]["source"], "urn:amqp");
    delete_queues(&ch, &[&q]).await;
}

on_both!(cloudevents_over_rabbitmq_in_both_modes_dedupe_route_and_dead_letter);
