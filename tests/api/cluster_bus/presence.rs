//! Presence follows sockets across nodes, and a node that stops heartbeating
//! drops out within one TTL (3 s here).

use super::{cluster, node_id, presence, redis_url};
use crate::helpers::wait_for;
use herald::bus::redis::RedisPresence;
use herald::bus::NodeId;
use serde_json::json;
use std::time::Duration;

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn presence_shows_the_user_on_the_nodes_holding_sockets_and_offline_once_they_close() {
    let Some(nodes) = cluster(3, &redis_url(), |_| {}).await else {
        return;
    };
    let before = presence(&nodes[2], "pia").await;
    assert_eq!(
        before,
        json!({"online": false, "sessions": 0, "nodes": [], "last_seen": null})
    );
    let token = nodes[0].token("pia").await;
    let (a, _) = nodes[0].ws(&token, None).await;
    let (b1, _) = nodes[1].ws(&token, None).await;
    let (b2, _) = nodes[1].ws(&token, None).await;
    // Asked on the node that holds none of them. The count settles with the heartbeat.
    wait_for("pia on nodes 0 and 1 with 3 sessions", 10, || async {
        let p = presence(&nodes[2], "pia").await;
        p["online"] == true
            && p["sessions"] == 3
            && p["nodes"] == json!([node_id(0), node_id(1)])
            && p["last_seen"].is_string()
    })
    .await;
    drop(a);
    wait_for("pia only on node 1", 10, || async {
        presence(&nodes[2], "pia").await["nodes"] == json!([node_id(1)])
    })
    .await;
    drop((b1, b2));
    wait_for("pia offline", 10, || async {
        let p = presence(&nodes[0], "pia").await;
        p["online"] == false && p["sessions"] == 0 && p["last_seen"].is_string()
    })
    .await;
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_node_whose_heartbeat_stopped_drops_out_within_one_ttl() {
    let ttl = Duration::from_secs(3);
    let prefix = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = prefix.clone();
    let Some(nodes) = cluster(2, &redis_url(), move |s| {
        if let Ok(mut p) = seen.lock() {
            *p = s.bus_channel_prefix.clone();
        }
    })
    .await
    else {
        return;
    };
    let prefix = prefix.lock().map(|p| p.clone()).unwrap_or_default();
    let token = nodes[0].token("gus").await;
    let (_socket, _) = nodes[0].ws(&token, None).await;
    // A node that wrote its record once and was then killed: nothing refreshes it.
    let client = redis::Client::open(redis_url()).expect("redis client");
    let conn = redis::aio::ConnectionManager::new(client)
        .await
        .expect("redis");
    let ghost = RedisPresence::new(conn, prefix, ttl, Duration::from_secs(60));
    ghost
        .write(
            &NodeId::parse("ghost").expect("node id"),
            &[("gus".into(), 2)],
        )
        .await
        .expect("ghost record");
    let p = presence(&nodes[1], "gus").await;
    assert_eq!(p["nodes"], json!(["ghost", node_id(0)]), "{p}");
    assert_eq!(p["sessions"], 3);
    // Bounded by one TTL plus a little slack for the request itself.
    wait_for("the ghost node to drop out", ttl.as_secs() + 2, || async {
        let p = presence(&nodes[1], "gus").await;
        p["nodes"] == json!([node_id(0)]) && p["sessions"] == 1
    })
    .await;
}
