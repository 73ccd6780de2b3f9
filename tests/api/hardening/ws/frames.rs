//! What one socket may send: the frame throttle, commands in flight, ack ids.

use super::app_with;
use crate::helpers::{close_code, next_json, next_of_type, send_frame, Backend};
use crate::on_both;
use futures_util::SinkExt;
use herald::domain::UserId;
use herald::realtime::ABUSE_REFUSALS;
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Writes `frames` in one go (one flush), so they reach the server together.
async fn burst(ws: &mut crate::helpers::Ws, frames: impl IntoIterator<Item = Value>) {
    for f in frames {
        ws.feed(Message::text(f.to_string())).await.expect("feed");
    }
    ws.flush().await.expect("flush");
}

async fn a_frame_flood_is_told_rate_limited_then_closed_with_policy_violation(backend: Backend) {
    let Some(app) = app_with(backend, |s| {
        s.ws.frames_per_sec = 1;
        s.ws.frames_burst = 10;
    })
    .await
    else {
        return;
    };
    let token = app.token("flooder").await;
    let (mut ws, _) = app.ws(&token, None).await;
    // The burst, then enough refusals to count as sustained abuse (a few
    // more, in case the bucket refills by one or two while they travel).
    let n = 10 + ABUSE_REFUSALS as usize + 5;
    burst(&mut ws, (0..n).map(|_| json!({"type": "ping"}))).await;
    let (mut pongs, mut notices) = (0, 0);
    loop {
        let f = next_json(&mut ws).await;
        match (f["type"].as_str(), f["code"].as_str()) {
            (Some("pong"), _) => pongs += 1,
            (Some("error"), Some("rate_limited")) => {
                notices += 1;
                break;
            }
            _ => panic!("unexpected frame {f}"),
        }
    }
    assert!(
        (10..15).contains(&pongs),
        "the burst of 10 is answered: {pongs}"
    );
    assert_eq!(notices, 1);
    assert_eq!(
        close_code(&mut ws, Duration::from_secs(5)).await,
        Some(1008),
        "sustained flooding closes with policy violation, after the one notice"
    );
}

async fn a_client_that_slows_down_after_the_notice_stays_connected(backend: Backend) {
    let Some(app) = app_with(backend, |s| {
        s.ws.frames_per_sec = 10;
        s.ws.frames_burst = 10;
    })
    .await
    else {
        return;
    };
    let token = app.token("bursty").await;
    let (mut ws, _) = app.ws(&token, None).await;
    // Over the burst, but by fewer refusals than count as abuse.
    burst(&mut ws, (0..15).map(|_| json!({"type": "ping"}))).await;
    assert_eq!(next_of_type(&mut ws, "error").await["code"], "rate_limited");
    // At 10 frames/s, a second refills plenty.
    tokio::time::sleep(Duration::from_secs(1)).await;
    send_frame(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_of_type(&mut ws, "pong").await["type"], "pong");
}

async fn commands_beyond_the_in_flight_limit_are_answered_busy(backend: Backend) {
    let Some(app) = app_with(backend, |s| s.ws.commands_in_flight = 1).await else {
        return;
    };
    app.notify("busy", "one").await;
    let token = app.token("busy").await;
    let (mut ws, _) = app.ws(&token, None).await;
    // Twenty database commands at once, then a ping to know when all are answered.
    let mut frames: Vec<Value> = (0..20).map(|_| json!({"type": "mark_all_read"})).collect();
    frames.push(json!({"type": "ping"}));
    burst(&mut ws, frames).await;
    let (mut busy, mut done) = (0, 0);
    // The ping is not a command, so it may be answered before them; count until all 20 are.
    while busy + done < 20 {
        let f = next_json(&mut ws).await;
        match (f["type"].as_str(), f["code"].as_str()) {
            (Some("error"), Some("busy")) => busy += 1,
            (Some("read_all"), _) => done += 1,
            (Some("pong"), _) => {}
            _ => panic!("unexpected frame {f}"),
        }
    }
    assert!(busy > 0, "no command was refused as busy");
    assert!(done > 0, "the command in its slot ran");
    // Slots come back once commands are answered.
    send_frame(&mut ws, json!({"type": "mark_all_read"})).await;
    assert_eq!(next_of_type(&mut ws, "read_all").await["unread_count"], 0);
}

async fn ack_ids_that_are_not_uuids_are_refused_and_the_socket_stays_usable(backend: Backend) {
    let Some(app) = app_with(backend, |_| {}).await else {
        return;
    };
    let token = app.token("acker").await;
    let (mut ws, _) = app.ws(&token, None).await;
    send_frame(&mut ws, json!({"type": "ack", "ids": ["1' OR '1'='1"]})).await;
    let err = next_json(&mut ws).await;
    assert_eq!(err["code"], "invalid_notification_id", "{err}");
    let too_many: Vec<String> = (0..1001)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    send_frame(&mut ws, json!({"type": "ack", "ids": too_many})).await;
    assert_eq!(next_json(&mut ws).await["code"], "too_many_ids");
    send_frame(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong");
}

/// The plan of the exact statement an `ack` frame runs, one line per step.
async fn ack_plan(app: &crate::helpers::TestApp, backend: Backend) -> String {
    let db = sea_orm::Database::connect(app.database_url.as_str())
        .await
        .expect("connect");
    let user = UserId::parse("acker").expect("user id");
    let ids = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
    let db_backend = match backend {
        Backend::Sqlite => DbBackend::Sqlite,
        Backend::Postgres => DbBackend::Postgres,
    };
    let st = herald::persistence::deliveries::in_app_ack_statement(db_backend, &user, &ids);
    let txn = db.begin().await.expect("begin");
    let (prefix, column) = match backend {
        Backend::Sqlite => ("EXPLAIN QUERY PLAN", "detail"),
        Backend::Postgres => {
            // A near-empty table is cheaper to scan; forbid scans to ask
            // whether an index *can* serve the query, which is what matters at scale.
            txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                .await
                .expect("set");
            ("EXPLAIN", "QUERY PLAN")
        }
    };
    let explain = Statement::from_sql_and_values(
        db_backend,
        format!("{prefix} {}", st.sql),
        st.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = txn.query_all_raw(explain).await.expect("explain");
    let plan = rows
        .iter()
        .filter_map(|r| r.try_get::<String>("", column).ok())
        .collect::<Vec<_>>()
        .join("\n");
    let _ = txn.rollback().await;
    // Closed here, inside the runtime: a pool dropped during teardown panics.
    let _ = db.close().await;
    plan
}

async fn the_ack_lookup_goes_through_the_notification_index(backend: Backend) {
    let Some(app) = app_with(backend, |_| {}).await else {
        return;
    };
    let plan = ack_plan(&app, backend).await;
    assert!(
        plan.contains("idx_deliveries_notification"),
        "plan:\n{plan}"
    );
    assert!(!plan.contains("SCAN deliveries"), "plan:\n{plan}");
    assert!(!plan.contains("Seq Scan"), "plan:\n{plan}");
}

on_both!(
    a_frame_flood_is_told_rate_limited_then_closed_with_policy_violation,
    a_client_that_slows_down_after_the_notice_stays_connected,
    commands_beyond_the_in_flight_limit_are_answered_busy,
    ack_ids_that_are_not_uuids_are_refused_and_the_socket_stays_usable,
    the_ack_lookup_goes_through_the_notification_index,
);
