//! Two nodes on one PostgreSQL database share one outbox: every webhook
//! delivery is claimed (`FOR UPDATE SKIP LOCKED`, fenced leases) and sent by
//! exactly one of them.

use super::{admin_json, two_nodes, without_poll};
use crate::helpers::wait_for;
use crate::stubs::HttpStub;
use futures_util::{stream, StreamExt};
use reqwest::Method;
use sea_orm::ConnectionTrait;
use serde_json::json;
use std::collections::HashSet;

/// Events published, half to each node; each makes one webhook delivery.
const EVENTS: usize = 200;
/// Events in flight at once.
const IN_FLIGHT: usize = 16;

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            sql.to_string(),
        ))
        .await
        .expect("count query")
        .expect("a count row");
    row.try_get_by_index(0).expect("a count")
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn two_nodes_on_one_database_send_each_webhook_delivery_exactly_once() {
    let receiver = HttpStub::start(vec![(200, "{}".into())]).await;
    let Some((a, b)) = two_nodes(without_poll).await else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/hook", receiver.port);
    let endpoint = json!({"url": url, "event_patterns": ["load.*"]});
    let (s, ep) = admin_json(&a, Method::POST, "/api/v1/webhooks", endpoint).await;
    assert_eq!(s, 201, "{ep}");
    // Both nodes must route load.* before the load starts.
    for node in [&a, &b] {
        wait_for("the endpoint on both nodes", 10, || async {
            super::publish(node, "load.warmup", "w").await == "processed"
        })
        .await;
    }
    let warmups = 2;
    let statuses: Vec<u16> = stream::iter(0..EVENTS)
        .map(|i| {
            let node = if i % 2 == 0 { &a } else { &b };
            let event = json!({"event_id": format!("load-{i}"), "event_type": "load.tick", "n": i});
            async move {
                admin_json(node, Method::POST, "/api/v1/events", event)
                    .await
                    .0
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == 202), "every event accepted");
    let expected = EVENTS + warmups;
    let db = sea_orm::Database::connect(a.database_url.as_str())
        .await
        .expect("test connection");
    wait_for("every delivery to settle", 60, || async {
        count(
            &db,
            "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')",
        )
        .await
            == 0
            && receiver.recorded().len() >= expected
    })
    .await;
    let recorded = receiver.recorded();
    let ids: HashSet<_> = recorded
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_string))
        .collect();
    assert_eq!(
        recorded.len(),
        expected,
        "one request per delivery, no more"
    );
    assert_eq!(ids.len(), expected, "no delivery was sent twice");
    let deliveries = count(
        &db,
        "SELECT count(*) FROM deliveries WHERE channel = 'webhook'",
    )
    .await;
    let attempts = count(&db, "SELECT count(*) FROM delivery_attempts").await;
    assert_eq!((deliveries, attempts), (expected as i64, expected as i64));
    let _ = db.close().await;
}
