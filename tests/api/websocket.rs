use crate::helpers::{
    assert_silent, close_code, next_json, next_of_type, send_frame, spawn_app_with, Backend,
    TestApp,
};
use crate::on_both_databases;
use futures_util::SinkExt;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

async fn hello_reports_the_users_unread_count_and_last_seq(app: TestApp) {
    app.notify("h", "one").await;
    app.notify("h", "two").await;
    let token = app.token("h").await;
    let (_ws, hello) = app.ws(&token, None).await;
    assert_eq!(hello["user_id"], "h");
    assert_eq!(hello["unread_count"], 2);
    assert_eq!(hello["last_seq"], 2);
    assert_eq!(hello["recovered"], false);
}

async fn every_open_session_of_a_user_receives_each_notification(app: TestApp) {
    let token = app.token("tabs").await;
    let (mut a, _) = app.ws(&token, None).await;
    let (mut b, _) = app.ws(&token, None).await;
    let sent = app.notify("tabs", "hello tabs").await;
    for ws in [&mut a, &mut b] {
        let f = next_json(ws).await;
        assert_eq!(f["type"], "notification");
        assert_eq!(f["notification"]["id"], sent["notification_id"]);
        assert_eq!(f["notification"]["seq"], 1);
        assert_eq!(f["notification"]["title"], "hello tabs");
    }
}

async fn reads_and_deletes_from_anywhere_reach_every_session(app: TestApp) {
    let token = app.token("sync").await;
    let (mut a, _) = app.ws(&token, None).await;
    let (mut b, _) = app.ws(&token, None).await;
    let n1 = app.notify("sync", "1").await["notification_id"]
        .as_str()
        .unwrap()
        .to_string();
    let n2 = app.notify("sync", "2").await["notification_id"]
        .as_str()
        .unwrap()
        .to_string();
    for ws in [&mut a, &mut b] {
        next_of_type(ws, "notification").await;
        next_of_type(ws, "notification").await;
    }
    // Over REST: both tabs hear it.
    app.post_json(
        &token,
        &format!("/api/v1/notifications/{n1}/read"),
        json!({}),
    )
    .await;
    for ws in [&mut a, &mut b] {
        let f = next_of_type(ws, "read").await;
        assert_eq!(f["ids"], json!([n1]));
        assert_eq!(f["unread_count"], 1);
    }
    // Over one socket: the other tab hears it too.
    send_frame(&mut a, json!({"type": "mark_read", "ids": [n2]})).await;
    for ws in [&mut a, &mut b] {
        let f = next_of_type(ws, "read").await;
        assert_eq!(f["ids"], json!([n2]));
        assert_eq!(f["unread_count"], 0);
    }
    app.notify("sync", "3").await;
    send_frame(&mut b, json!({"type": "mark_all_read"})).await;
    for ws in [&mut a, &mut b] {
        assert_eq!(next_of_type(ws, "read_all").await["unread_count"], 0);
    }
    let res = app
        .as_user(
            &token,
            Method::DELETE,
            &format!("/api/v1/notifications/{n1}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    for ws in [&mut a, &mut b] {
        assert_eq!(next_of_type(ws, "deleted").await["ids"], json!([n1]));
    }
}

async fn pings_get_pongs_and_bad_frames_get_errors_on_an_open_socket(app: TestApp) {
    let token = app.token("pp").await;
    let (mut ws, _) = app.ws(&token, None).await;
    send_frame(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong");
    ws.send(Message::text("not json")).await.unwrap();
    let err = next_json(&mut ws).await;
    assert_eq!(
        (err["type"].as_str(), err["code"].as_str()),
        (Some("error"), Some("invalid_frame"))
    );
    send_frame(&mut ws, json!({"type": "dance"})).await;
    assert!(next_json(&mut ws).await["message"]
        .as_str()
        .unwrap()
        .contains("unknown frame type"));
    send_frame(&mut ws, json!({"type": "mark_read", "ids": ["nope"]})).await;
    assert_eq!(next_json(&mut ws).await["code"], "invalid_notification_id");
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(next_json(&mut ws).await["code"], "unsupported_frame");
    send_frame(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(
        next_json(&mut ws).await["type"],
        "pong",
        "the socket stayed open"
    );
}

async fn resuming_with_since_replays_what_was_missed_in_order(app: TestApp) {
    for i in 1..=5 {
        app.notify("resume", &format!("n{i}")).await;
    }
    let token = app.token("resume").await;
    let (mut ws, hello) = app.ws(&token, Some(2)).await;
    assert_eq!(hello["recovered"], true);
    assert_eq!(hello["last_seq"], 5);
    for expected in 3..=5 {
        let f = next_json(&mut ws).await;
        assert_eq!(f["notification"]["seq"], expected);
    }
    app.notify("resume", "live").await;
    assert_eq!(next_json(&mut ws).await["notification"]["seq"], 6);
    assert_silent(&mut ws, Duration::from_millis(200)).await;
}

async fn notifications_sent_during_a_replay_arrive_exactly_once_in_order(app: TestApp) {
    for i in 0..40 {
        app.notify("storm", &format!("before {i}")).await;
    }
    let token = app.token("storm").await;
    let sender = {
        let client = app.client.clone();
        let url = app.url("/api/v1/send");
        let key = app.admin_key.clone();
        actix_web::rt::spawn(async move {
            for i in 0..40 {
                let body = json!({"user_id": "storm", "title": format!("during {i}")});
                let res = client
                    .post(&url)
                    .bearer_auth(&key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 202);
            }
        })
    };
    let (mut ws, hello) = app.ws(&token, Some(0)).await;
    assert_eq!(hello["recovered"], true);
    sender.await.unwrap();
    let mut seqs = vec![];
    while seqs.len() < 80 {
        let f = next_json(&mut ws).await;
        assert_eq!(f["type"], "notification");
        seqs.push(f["notification"]["seq"].as_i64().unwrap());
    }
    assert_eq!(
        seqs,
        (1..=80).collect::<Vec<_>>(),
        "no loss, no duplicate, in order"
    );
    assert_silent(&mut ws, Duration::from_millis(300)).await;
}

async fn a_resume_point_too_far_back_reports_recovered_false(app: TestApp) {
    for i in 0..5 {
        app.notify("far", &format!("{i}")).await;
    }
    let token = app.token("far").await;
    let (_ws, hello) = app.ws(&token, Some(999)).await;
    assert_eq!(
        hello["recovered"], false,
        "a seq from the future cannot be resumed"
    );
}

on_both_databases!(
    hello_reports_the_users_unread_count_and_last_seq,
    every_open_session_of_a_user_receives_each_notification,
    reads_and_deletes_from_anywhere_reach_every_session,
    pings_get_pongs_and_bad_frames_get_errors_on_an_open_socket,
    resuming_with_since_replays_what_was_missed_in_order,
    notifications_sent_during_a_replay_arrive_exactly_once_in_order,
    a_resume_point_too_far_back_reports_recovered_false,
);

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_replay_longer_than_the_limit_reports_recovered_false() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.ws.max_replay = 3)
        .await
        .unwrap();
    for i in 0..5 {
        app.notify("long", &format!("{i}")).await;
    }
    let token = app.token("long").await;
    let (mut ws, hello) = app.ws(&token, Some(0)).await;
    assert_eq!(hello["recovered"], false);
    assert_silent(&mut ws, Duration::from_millis(200)).await;
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_client_that_stops_reading_is_closed_with_the_reconnect_code() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.ws.outbound_queue = 8;
        s.ws.send_timeout_ms = 500;
    })
    .await
    .unwrap();
    let token = app.token("slow").await;
    // A tiny receive window, so the server's buffers fill quickly.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(format!("127.0.0.1:{}", app.port).parse().unwrap())
        .await
        .unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(
        app.ws_url(&token, None),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    let body = "x".repeat(8 * 1024);
    let mut evicted = false;
    for _ in 0..400 {
        let res = app
            .send(json!({"user_id": "slow", "title": "flood", "body": body}))
            .await;
        assert_eq!(res.status(), 202);
        let metrics = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("herald_ws_evicted_total 1") {
            evicted = true;
            break;
        }
    }
    assert!(evicted, "the server dropped the slow session from the hub");
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(10)).await,
        Some(4000)
    );
    // The server holds nothing for it any more.
    let ready = app.ready().await;
    assert_eq!(ready["realtime"]["sessions"], 0);
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_client_that_stops_answering_heartbeats_is_closed() {
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.ws.heartbeat_interval_secs = 1;
        s.ws.client_timeout_secs = 2;
    })
    .await
    .unwrap();
    let token = app.token("sleepy").await;
    let path = format!("/api/v1/ws?token={token}");
    let code =
        crate::helpers::idle_raw_ws_close_code(app.port, &path, Duration::from_millis(3500)).await;
    assert_eq!(code, Some(4001));
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn an_oversized_inbound_frame_closes_the_socket() {
    let app = spawn_app_with(Backend::Sqlite, |s| s.ws.max_frame_bytes = 1024)
        .await
        .unwrap();
    let token = app.token("big").await;
    let (mut ws, _) = app.ws(&token, None).await;
    ws.send(Message::text("x".repeat(4096))).await.unwrap();
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(1009)
    );
}

async fn an_ack_frame_marks_the_in_app_delivery_delivered(app: TestApp) {
    let token = app.token("acker").await;
    let (mut ws, _) = app.ws(&token, None).await;
    let sent = app
        .send(json!({"user_id": "acker", "title": "t", "request_id": "ack-1"}))
        .await;
    assert_eq!(sent.status(), 202);
    let frame = next_of_type(&mut ws, "notification").await;
    let id = frame["notification"]["id"].as_str().unwrap().to_string();
    let status = || async {
        let v: serde_json::Value = app
            .admin(
                Method::GET,
                "/api/v1/deliveries?user_id=acker&request_id=ack-1",
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["items"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(status().await, "sent");
    send_frame(&mut ws, json!({"type": "ack", "ids": [id]})).await;
    send_frame(&mut ws, json!({"type": "ping"})).await;
    next_of_type(&mut ws, "pong").await;
    for _ in 0..50 {
        if status().await == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status().await, "delivered");
    // Another user cannot ack it.
    let other = app.token("intruder").await;
    let (mut ows, _) = app.ws(&other, None).await;
    send_frame(&mut ows, json!({"type": "ack", "ids": [id]})).await;
    send_frame(&mut ows, json!({"type": "ping"})).await;
    next_of_type(&mut ows, "pong").await;
}

on_both_databases!(an_ack_frame_marks_the_in_app_delivery_delivered);
