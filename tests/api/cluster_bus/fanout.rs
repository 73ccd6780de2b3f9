//! A frame made on one node reaches the user's sockets on every node.

use super::{cluster, redis_url};
use crate::helpers::{next_of_type, send_frame, Ws};
use serde_json::json;

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_send_on_one_node_reaches_the_users_sockets_on_every_node() {
    let Some(nodes) = cluster(3, &redis_url(), |_| {}).await else {
        return;
    };
    let token = nodes[0].token("ada").await;
    let mut sockets: Vec<Ws> = Vec::new();
    for node in &nodes {
        sockets.push(node.ws(&token, None).await.0);
    }
    nodes[0].notify("ada", "made on node 0").await;
    nodes[2].notify("ada", "made on node 2").await;
    for (i, ws) in sockets.iter_mut().enumerate() {
        let mut titles = Vec::new();
        for _ in 0..2 {
            let f = next_of_type(ws, "notification").await;
            titles.push(
                f["notification"]["title"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
        titles.sort();
        assert_eq!(
            titles,
            ["made on node 0", "made on node 2"],
            "socket on node {i}"
        );
    }
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_read_on_one_node_clears_the_badge_on_every_other_node() {
    let Some(nodes) = cluster(3, &redis_url(), |_| {}).await else {
        return;
    };
    let token = nodes[0].token("bea").await;
    let mut sockets: Vec<Ws> = Vec::new();
    for node in &nodes {
        sockets.push(node.ws(&token, None).await.0);
    }
    let mut ids = Vec::new();
    for title in ["one", "two"] {
        nodes[1].notify("bea", title).await;
    }
    for ws in sockets.iter_mut() {
        for _ in 0..2 {
            let f = next_of_type(ws, "notification").await;
            ids.push(
                f["notification"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    let (first, second) = (ids[0].clone(), ids[1].clone());

    // Read over REST on node 2: the sockets on nodes 0 and 1 see it with the new count.
    let (status, _) = nodes[2]
        .post_json(
            &token,
            &format!("/api/v1/notifications/{first}/read"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    for (i, ws) in sockets.iter_mut().enumerate() {
        let f = next_of_type(ws, "read").await;
        assert_eq!(f["ids"], json!([first]), "node {i}");
        assert_eq!(f["unread_count"], 1, "node {i}");
    }
    // Unread on node 0, delete on node 1, read-all over the socket on node 2.
    let (status, _) = nodes[0]
        .post_json(
            &token,
            &format!("/api/v1/notifications/{first}/unread"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200);
    for ws in sockets.iter_mut() {
        assert_eq!(next_of_type(ws, "unread").await["unread_count"], 2);
    }
    let (status, _) = nodes[1]
        .post_json(
            &token,
            "/api/v1/notifications/delete",
            json!({"ids": [second]}),
        )
        .await;
    assert_eq!(status, 200);
    for ws in sockets.iter_mut() {
        let f = next_of_type(ws, "deleted").await;
        assert_eq!(
            (f["ids"].clone(), f["unread_count"].clone()),
            (json!([second]), json!(1))
        );
    }
    send_frame(&mut sockets[2], json!({"type": "mark_all_read"})).await;
    for ws in sockets.iter_mut() {
        assert_eq!(next_of_type(ws, "read_all").await["unread_count"], 0);
    }
}
