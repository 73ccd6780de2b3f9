//! Two nodes on one PostgreSQL database, the periodic reload out of reach: a
//! change made over REST on A applies to events sent to B within the bound.

use super::CONVERGE_SECS;
use super::{admin_json, processed_within_bound, publish, titles, two_nodes, without_poll};
use crate::helpers::wait_for;
use crate::stubs::HttpStub;
use reqwest::Method;
use sea_orm::ConnectionTrait;
use sea_orm::{DbBackend, Statement};
use serde_json::json;

async fn create_rule(app: &crate::helpers::TestApp, template_title: &str) {
    let tpl = json!({"code": "shipped", "in_app": {"title": template_title}});
    let (s, body) = admin_json(app, Method::POST, "/api/v1/templates", tpl).await;
    assert_eq!(s, 201, "{body}");
    let rule = json!({"name": "shipped", "event_pattern": "order.*", "channels": ["in_app"], "template_code": "shipped"});
    let (s, body) = admin_json(app, Method::POST, "/api/v1/rules", rule).await;
    assert_eq!(s, 201, "{body}");
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_rule_created_on_one_node_applies_to_events_sent_to_the_other_within_the_bound() {
    let Some((a, b)) = two_nodes(without_poll).await else {
        return;
    };
    assert_eq!(
        publish(&b, "order.shipped", "u1").await,
        "no_match",
        "B starts without the rule"
    );
    create_rule(&a, "Shipped").await;
    processed_within_bound(&b, "order.shipped", "u1").await;
    assert_eq!(
        titles(&b, "u1").await.first().map(String::as_str),
        Some("Shipped")
    );
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_template_changed_on_one_node_renders_on_the_other_within_the_bound() {
    let Some((a, b)) = two_nodes(without_poll).await else {
        return;
    };
    create_rule(&a, "Shipped").await;
    processed_within_bound(&b, "order.shipped", "u2").await;
    let v2 = json!({"in_app": {"title": "Shipped, version 2"}});
    let (s, body) = admin_json(&a, Method::PUT, "/api/v1/templates/shipped", v2).await;
    assert_eq!(s, 200, "{body}");
    wait_for(
        "B to render the new template version",
        CONVERGE_SECS,
        || async {
            assert_eq!(publish(&b, "order.shipped", "u2").await, "processed");
            titles(&b, "u2").await.first().map(String::as_str) == Some("Shipped, version 2")
        },
    )
    .await;
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_webhook_endpoint_added_then_disabled_on_one_node_is_followed_by_the_other() {
    let receiver = HttpStub::start(vec![(200, "{}".into())]).await;
    let Some((a, b)) = two_nodes(without_poll).await else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let endpoint = json!({"url": url, "event_patterns": ["stock.*"]});
    let (s, ep) = admin_json(&a, Method::POST, "/api/v1/webhooks", endpoint).await;
    assert_eq!(s, 201, "{ep}");
    // No rule matches stock.*: only the endpoint makes the event processed.
    processed_within_bound(&b, "stock.low", "u3").await;
    wait_for("the webhook sent for B's event", 15, || async {
        !receiver.recorded().is_empty()
    })
    .await;
    let id = ep["id"].as_str().expect("endpoint id");
    let disabled = json!({"url": url, "event_patterns": ["stock.*"], "enabled": false});
    let path = format!("/api/v1/webhooks/{id}");
    let (s, body) = admin_json(&a, Method::PUT, &path, disabled).await;
    assert_eq!(s, 200, "{body}");
    wait_for(
        "B to stop routing to the disabled endpoint",
        CONVERGE_SECS,
        || async { publish(&b, "stock.low", "u3").await == "no_match" },
    )
    .await;
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_node_whose_listening_connection_is_killed_reconnects_and_still_converges() {
    let Some((a, b)) = two_nodes(without_poll).await else {
        return;
    };
    let database = a
        .database_url
        .rsplit('/')
        .next()
        .expect("database name")
        .to_string();
    let admin =
        sea_orm::Database::connect(format!("{}/postgres", crate::helpers::postgres_admin_url()))
            .await
            .expect("admin connection");
    let listening =
        format!("FROM pg_stat_activity WHERE datname = '{database}' AND query ILIKE 'LISTEN%'");
    let rows = |sql: String| {
        let admin = &admin;
        async move {
            admin
                .query_all_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await
                .expect("pg_stat_activity")
                .len()
        }
    };
    wait_for("both nodes to listen", 10, || async {
        rows(format!("SELECT pid {listening}")).await == 2
    })
    .await;
    let killed = rows(format!("SELECT pg_terminate_backend(pid) {listening}")).await;
    assert_eq!(killed, 2, "both listening connections were killed");
    create_rule(&a, "After reconnect").await;
    processed_within_bound(&b, "order.shipped", "u4").await;
    let _ = admin.close().await;
}

fn one_attempt(s: &mut herald::config::Settings) {
    without_poll(s);
    s.delivery_max_attempts = 1;
    // Every failure must reach the endpoint, not wait behind an open circuit.
    s.delivery_breaker_threshold = 1_000;
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn an_endpoint_disabled_after_repeated_failures_stops_receiving_events_on_every_node() {
    let receiver = HttpStub::start(vec![(500, "down".into())]).await;
    let Some((a, b)) = two_nodes(one_attempt).await else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let endpoint = json!({"url": url, "event_patterns": ["stock.*"]});
    let (s, ep) = admin_json(&a, Method::POST, "/api/v1/webhooks", endpoint).await;
    assert_eq!(s, 201, "{ep}");
    processed_within_bound(&b, "stock.low", "u5").await;
    for _ in 0..20 {
        assert_eq!(publish(&a, "stock.low", "u5").await, "processed");
    }
    wait_for("twenty failed sends", 30, || async {
        receiver.recorded().len() >= 20
    })
    .await;
    wait_for(
        "B to stop routing to the endpoint A's failures disabled",
        CONVERGE_SECS + 10,
        || async { publish(&b, "stock.low", "u5").await == "no_match" },
    )
    .await;
}
