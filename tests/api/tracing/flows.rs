//! One trace per event, from its source to the provider call.

use super::collector::Collector;
use crate::helpers::{wait_for, Backend};
use crate::on_both;
use crate::processes::{Node, SharedDb, ADMIN_KEY};
use crate::sources::{amqp_channel, delete_queues, reachable, BROKER};
use crate::stubs::HttpStub;
use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::BasicProperties;
use serde_json::{json, Value};
use std::time::Duration;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn traceparent() -> String {
    format!("00-{TRACE_ID}-{PARENT_ID}-01")
}

/// A node exporting to `collector` (when given), sending webhooks to `hook`.
async fn node(db: &SharedDb, collector: Option<&Collector>, extra: &[(&str, String)]) -> Node {
    let mut env = vec![
        (
            "HERALD_WEBHOOK_ALLOW_PRIVATE".to_string(),
            "true".to_string(),
        ),
        (
            "HERALD_OTEL_SERVICE_NAME".to_string(),
            "herald-test".to_string(),
        ),
        (
            "HERALD_OTEL_EXPORT_INTERVAL_MS".to_string(),
            "100".to_string(),
        ),
    ];
    if let Some(c) = collector {
        env.push(("HERALD_OTEL_ENDPOINT".to_string(), c.url()));
    }
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Node::start_env(&db.url, &env).await
}

async fn subscribe_webhook(node: &Node, hook: &HttpStub, pattern: &str) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/webhooks", node.base))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"url": format!("http://127.0.0.1:{}/hook", hook.port), "event_patterns": [pattern]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

/// Publishes an event over REST with the caller's `traceparent`.
async fn post_traced(node: &Node, event_id: &str, event_type: &str) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/events", node.base))
        .bearer_auth(ADMIN_KEY)
        .header("traceparent", traceparent())
        .header("tracestate", "vendor=1")
        .json(&json!({"event_id": event_id, "event_type": event_type, "user_id": "u"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
}

async fn audit_trace_id(node: &Node, event_id: &str) -> Value {
    let audit: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/events/{event_id}", node.base))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    audit["trace_id"].clone()
}

/// Waits for the webhook call's span and checks its parent chain reaches the caller's span.
async fn assert_one_trace_to_the_webhook_call(collector: &Collector, through: &[&str]) {
    let remote = format!("remote:{PARENT_ID}");
    // Spans arrive as they end, children first: wait until the whole chain is in.
    wait_for("the webhook call's span and its parents", 30, || async {
        collector
            .spans()
            .iter()
            .filter(|s| s.name == "webhook_send")
            .any(|s| collector.ancestry(s).last() == Some(&remote))
    })
    .await;
    let spans = collector.spans();
    let send = spans.iter().find(|s| s.name == "webhook_send").unwrap();
    assert_eq!(
        send.trace_id, TRACE_ID,
        "the send continues the caller's trace"
    );
    assert_eq!(send.service, "herald-test");
    let chain = collector.ancestry(send);
    assert_eq!(chain.last(), Some(&remote), "{chain:?}");
    for name in through {
        assert!(chain.iter().any(|c| c == name), "{name} in {chain:?}");
    }
    // Children carry their parent's trace id, so the whole chain is the caller's trace.
    let event = spans.iter().find(|s| s.name == "event").unwrap();
    assert_eq!(event.trace_id, TRACE_ID);
}

async fn an_http_event_with_a_traceparent_is_one_trace_from_request_to_webhook_call(
    backend: Backend,
) {
    let Some(db) = SharedDb::create(backend).await else {
        return;
    };
    let (collector, hook) = (
        Collector::start().await,
        HttpStub::start(vec![(200, "{}".into())]).await,
    );
    let node = node(&db, Some(&collector), &[]).await;
    subscribe_webhook(&node, &hook, "trace.*").await;
    post_traced(&node, "trace-http-1", "trace.http").await;
    assert_one_trace_to_the_webhook_call(&collector, &["delivery", "event", "http"]).await;
    assert_eq!(audit_trace_id(&node, "trace-http-1").await, TRACE_ID);
}

async fn without_an_endpoint_nothing_is_exported_and_the_audit_keeps_the_trace_id(
    backend: Backend,
) {
    let Some(db) = SharedDb::create(backend).await else {
        return;
    };
    let (collector, hook) = (
        Collector::start().await,
        HttpStub::start(vec![(200, "{}".into())]).await,
    );
    // The SDK's own variable names the collector: Herald still exports nothing without HERALD_OTEL_ENDPOINT.
    let node = node(
        &db,
        None,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())],
    )
    .await;
    subscribe_webhook(&node, &hook, "trace.*").await;
    post_traced(&node, "trace-off-1", "trace.off").await;
    wait_for("the webhook call", 20, || async {
        !hook.recorded().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(collector.spans().is_empty(), "{:?}", collector.spans());
    assert_eq!(audit_trace_id(&node, "trace-off-1").await, TRACE_ID);
}

async fn an_amqp_event_with_a_traceparent_header_is_one_trace_to_the_webhook_call(
    backend: Backend,
) {
    let _shared = BROKER.read().await;
    if !reachable("RabbitMQ", "127.0.0.1:5672").await {
        return;
    }
    let Some(db) = SharedDb::create(backend).await else {
        return;
    };
    let s = uuid::Uuid::new_v4().simple().to_string();
    let (ex, q) = (format!("herald_test_trace_{s}"), format!("trace_{s}"));
    let (collector, hook) = (
        Collector::start().await,
        HttpStub::start(vec![(200, "{}".into())]).await,
    );
    let amqp = [
        ("HERALD_AMQP_URL", crate::sources::amqp_url()),
        ("HERALD_AMQP_EXCHANGE", ex.clone()),
        ("HERALD_AMQP_QUEUES", format!("{q}=#")),
    ];
    let node = node(&db, Some(&collector), &amqp).await;
    subscribe_webhook(&node, &hook, "trace.*").await;
    wait_for("the rabbitmq consumer", 20, || async {
        let ready: Value = match reqwest::get(format!("{}/ready", node.base)).await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        ready["components"]["rabbitmq"] == "connected"
    })
    .await;
    let (_conn, ch) = amqp_channel().await;
    let mut headers = FieldTable::default();
    headers.insert(
        "traceparent".into(),
        AMQPValue::LongString(traceparent().into()),
    );
    let body = json!({"event_id": format!("trace-amqp-{s}"), "user_id": "u"}).to_string();
    ch.basic_publish(
        ex.as_str().into(),
        "trace.amqp".into(),
        BasicPublishOptions::default(),
        body.as_bytes(),
        BasicProperties::default()
            .with_headers(headers)
            .with_delivery_mode(2),
    )
    .await
    .expect("publish")
    .await
    .expect("confirm");
    assert_one_trace_to_the_webhook_call(&collector, &["delivery", "event"]).await;
    assert_eq!(
        audit_trace_id(&node, &format!("trace-amqp-{s}")).await,
        TRACE_ID
    );
    delete_queues(&ch, &[&q]).await;
}

async fn spans_still_queued_are_flushed_when_the_node_shuts_down(backend: Backend) {
    let Some(db) = SharedDb::create(backend).await else {
        return;
    };
    let (collector, hook) = (
        Collector::start().await,
        HttpStub::start(vec![(200, "{}".into())]).await,
    );
    // A minute between exports: only the shutdown flush can deliver these spans in time.
    let mut node = node(
        &db,
        Some(&collector),
        &[("HERALD_OTEL_EXPORT_INTERVAL_MS", "60000".into())],
    )
    .await;
    subscribe_webhook(&node, &hook, "trace.*").await;
    post_traced(&node, "trace-flush-1", "trace.flush").await;
    wait_for("the webhook call", 20, || async {
        !hook.recorded().is_empty()
    })
    .await;
    assert!(
        collector.spans().is_empty(),
        "nothing exported before the interval"
    );
    node.sigterm();
    let status = node.wait_exit(Duration::from_secs(40)).await;
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(collector
        .spans()
        .iter()
        .any(|s| s.name == "webhook_send" && s.trace_id == TRACE_ID));
}

on_both!(
    spans_still_queued_are_flushed_when_the_node_shuts_down,
    an_http_event_with_a_traceparent_is_one_trace_from_request_to_webhook_call,
    without_an_endpoint_nothing_is_exported_and_the_audit_keeps_the_trace_id,
    an_amqp_event_with_a_traceparent_header_is_one_trace_to_the_webhook_call,
);
