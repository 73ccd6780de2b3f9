//! A frame made on one node reaches the user's sockets on every node.

use super::{cluster, redis_url};
use crate::helpers::{next_of_type, send_frame, Ws};
use serde_json::json;

#[actix_web::test]
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

#[actix_web::test]
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

#[actix_web::test]
async fn with_per_user_channels_a_send_reaches_the_other_node_once_it_has_subscribed() {
    let prefix = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let seen = prefix.clone();
    let Some(nodes) = cluster(2, &redis_url(), move |s| {
        s.bus_layout = herald::bus::redis::LayoutKind::PerUser;
        if let Ok(mut p) = seen.lock() {
            *p = s.bus_channel_prefix.clone();
        }
    })
    .await
    else {
        return;
    };
    let channel = format!(
        "{}:user:cy",
        prefix.lock().map(|p| p.clone()).unwrap_or_default()
    );
    let token = nodes[0].token("cy").await;
    let (mut far, _) = nodes[1].ws(&token, None).await;
    // The subscription follows the first local session asynchronously (see README).
    let client = redis::Client::open(redis_url()).expect("redis client");
    let conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    crate::helpers::wait_for("node 1 to subscribe to cy's channel", 10, || {
        let (mut conn, channel) = (conn.clone(), channel.clone());
        async move {
            let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            counts.first().is_some_and(|c| c.1 == 1)
        }
    })
    .await;
    nodes[0].notify("cy", "per user").await;
    let f = next_of_type(&mut far, "notification").await;
    assert_eq!(f["notification"]["title"], "per user");
    drop(far);
    crate::helpers::wait_for("node 1 to unsubscribe after the last session", 10, || {
        let (mut conn, channel) = (conn.clone(), channel.clone());
        async move {
            let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&channel)
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
            counts.first().is_some_and(|c| c.1 == 0)
        }
    })
    .await;
}
