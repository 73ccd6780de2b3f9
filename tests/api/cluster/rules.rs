//! The catalog converges: a rule created over REST on node A applies, one
//! second later, to an event only node B consumes; once disabled on A, it no
//! longer applies on C.

use super::harness::{tag, Cluster, ClusterSpec};
use crate::sources::{amqp_url, reachable, BROKER};
use lapin::options::BasicPublishOptions;
use lapin::{BasicProperties, Connection, ConnectionProperties};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// The convergence the catalog promises across nodes.
const CONVERGENCE: Duration = Duration::from_secs(1);

async fn publish(exchange: &str, key: &str, event: &Value) {
    let conn = Connection::connect(&amqp_url(), ConnectionProperties::default())
        .await
        .expect("amqp connect");
    let ch = conn.create_channel().await.expect("channel");
    ch.basic_publish(
        exchange.into(),
        key.into(),
        BasicPublishOptions::default(),
        event.to_string().as_bytes(),
        BasicProperties::default().with_delivery_mode(2),
    )
    .await
    .expect("publish")
    .await
    .expect("confirm");
    let _ = conn.close(200, "bye".into()).await;
}

/// The audit's status once some node has recorded the event (read through node `via`).
async fn outcome(c: &Cluster, via: usize, event_id: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(a) = c.audit(via, event_id).await {
            return a["status"].as_str().unwrap_or_default().to_string();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "event {event_id} never recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_created_on_one_node_applies_to_an_event_another_node_consumes_a_second_later() {
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await || !reachable("Redis", "127.0.0.1:6379").await
    {
        return;
    }
    let tag = tag();
    let exchange = format!("cluster_{tag}");
    // Node i alone consumes routing key `to.n{i}`.
    let queues = (0..3)
        .map(|i| format!("cluster_{tag}_n{i}=to.n{i}"))
        .collect();
    let mut spec = ClusterSpec::new(3);
    spec.amqp = Some((exchange.clone(), queues));
    let Some(c) = Cluster::start(&tag, spec).await else {
        return;
    };
    let user = format!("u-{tag}");
    let template = json!({"code": format!("shipped_{tag}"), "in_app": {"title": "Parcel {{ parcel }} shipped"}});
    let rule = json!({"name": "shipped", "event_pattern": "parcel.shipped", "channels": ["in_app"],
                      "template_code": format!("shipped_{tag}")});
    let rule_id = c.create_rule(0, &template, &rule).await;
    tokio::time::sleep(CONVERGENCE).await;

    let first = format!("{tag}-first");
    let event = json!({"event_id": first, "event_type": "parcel.shipped", "user_id": user, "parcel": "P-1"});
    publish(&exchange, "to.n1", &event).await;
    assert_eq!(
        outcome(&c, 2, &first).await,
        "processed",
        "node B had not loaded the rule"
    );
    let token = c.token(&user).await;
    let (_, feed) = c.get_json(2, &token, "/api/v1/notifications").await;
    assert_eq!(feed["items"][0]["title"], "Parcel P-1 shipped", "{feed}");

    // Disabled on A: a second later, C no longer applies it.
    let mut disabled = rule.clone();
    disabled["enabled"] = json!(false);
    let res = c
        .admin(0, Method::PUT, &format!("/api/v1/rules/{rule_id}"))
        .json(&disabled)
        .send()
        .await
        .expect("disable rule");
    assert_eq!(res.status(), 200, "disable the rule");
    tokio::time::sleep(CONVERGENCE).await;
    let second = format!("{tag}-second");
    let event = json!({"event_id": second, "event_type": "parcel.shipped", "user_id": user, "parcel": "P-2"});
    publish(&exchange, "to.n2", &event).await;
    assert_eq!(
        outcome(&c, 0, &second).await,
        "dead_lettered",
        "node C still applied the disabled rule"
    );
    let (_, feed) = c.get_json(1, &token, "/api/v1/notifications").await;
    assert_eq!(feed["items"].as_array().map(Vec::len), Some(1), "{feed}");
}
