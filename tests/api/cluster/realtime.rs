//! Three nodes behave as one server for a user: a send on A reaches sockets on
//! B and C, a read on C clears the badge everywhere, and presence names the
//! nodes that hold the user's sockets.

use super::harness::{tag, Cluster, ClusterSpec};
use crate::helpers::{next_of_type, send_frame, wait_for};
use crate::sources::reachable;
use serde_json::{json, Value};

fn sorted_nodes(presence: &Value) -> Vec<String> {
    let mut nodes: Vec<String> = presence["nodes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_on_one_node_reaches_sockets_on_the_others_and_a_read_anywhere_clears_every_badge() {
    if !reachable("Redis", "127.0.0.1:6379").await {
        return;
    }
    let tag = tag();
    let Some(c) = Cluster::start(&tag, ClusterSpec::new(3)).await else {
        return;
    };
    let user = format!("u-{tag}");
    let token = c.token(&user).await;
    let mut socks = vec![];
    for i in 0..3 {
        let (ws, hello) = c.ws(i, &token).await;
        assert_eq!(hello["unread_count"], 0, "{hello}");
        socks.push(ws);
    }

    // Presence: one socket on each node.
    let all: Vec<String> = {
        let mut v: Vec<String> = (0..3).map(|i| c.node_id(i)).collect();
        v.sort();
        v
    };
    wait_for("presence on all three nodes", 10, || async {
        let (status, p) = c.presence(1, &user).await;
        status == 200 && p["online"] == true && p["sessions"] == 3 && sorted_nodes(&p) == all
    })
    .await;

    let sent = c
        .send(
            0,
            &json!({"user_id": user, "title": "hello", "body": "from A"}),
        )
        .await;
    let id = sent["notification_id"]
        .as_str()
        .expect("notification id")
        .to_string();
    for (i, ws) in socks.iter_mut().enumerate() {
        let frame = next_of_type(ws, "notification").await;
        assert_eq!(
            frame["notification"]["id"],
            id.as_str(),
            "node {i}: {frame}"
        );
        assert_eq!(frame["notification"]["seq"], 1, "node {i}: {frame}");
    }

    // A read on C: the sockets on A and B see the badge go to zero.
    send_frame(&mut socks[2], json!({"type": "mark_read", "ids": [id]})).await;
    for (i, ws) in socks.iter_mut().take(2).enumerate() {
        let frame = next_of_type(ws, "read").await;
        assert_eq!(frame["unread_count"], 0, "node {i}: {frame}");
        assert!(
            frame["ids"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == id.as_str())),
            "node {i}: {frame}"
        );
    }
    let (_, count) = c
        .get_json(1, &token, "/api/v1/notifications/unread-count")
        .await;
    assert_eq!(count["unread_count"], 0, "{count}");

    // C's socket goes away: presence drops C and keeps A and B.
    let _ = socks[2].close(None).await;
    let mut two = vec![c.node_id(0), c.node_id(1)];
    two.sort();
    wait_for("presence without C", 10, || async {
        let (_, p) = c.presence(2, &user).await;
        p["online"] == true && p["sessions"] == 2 && sorted_nodes(&p) == two
    })
    .await;
    for ws in socks.iter_mut().take(2) {
        let _ = ws.close(None).await;
    }
    wait_for("the user to be offline", 10, || async {
        let (_, p) = c.presence(0, &user).await;
        p["online"] == false && p["sessions"] == 0
    })
    .await;
}
