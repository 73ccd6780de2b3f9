//! Every kind of series moves by the expected amount after a send, an event
//! over HTTP and a WebSocket session, and no label names a user.

use super::{app_with_smtp, scrape, send_with_email, Scrape};
use crate::events::{import, movie_pack, post_event, seed_events};
use crate::helpers::{next_of_type, spawn_app_with, wait_for, Backend};
use crate::on_both;
use crate::stubs::SmtpServer;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

const SEND: &[(&str, &str)] = &[
    ("route", "/api/v1/send"),
    ("method", "POST"),
    ("status", "2xx"),
];

async fn a_send_an_event_and_a_websocket_session_move_their_series(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp, |_| {}).await else {
        return;
    };
    let user = format!("metrics-user-{}", uuid::Uuid::new_v4().simple());
    let before = scrape(&app).await;

    // A WebSocket session that receives the send's frame, then closes normally.
    let token = app.token(&user).await;
    let (mut ws, _) = app.ws(&token, None).await;
    send_with_email(&app, &user, &["in_app", "email"]).await;
    next_of_type(&mut ws, "notification").await;
    ws.send(Message::Close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    })))
    .await
    .unwrap();

    // An event over HTTP, whose rule sends an email.
    import(&app, &movie_pack()).await;
    let (status, _) = post_event(&app, &seed_events()[0].1).await;
    assert_eq!(status, 202);
    wait_for("both emails", 10, || async {
        smtp.messages.lock().unwrap().len() >= 2
    })
    .await;

    let moved = |after: &Scrape, name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    wait_for("the session's disconnect and both settles", 10, || async {
        let after = scrape(&app).await;
        moved(&after, "herald_ws_disconnects_total", &[("code", "1000")]) == 1.0
            && moved(
                &after,
                "herald_deliveries_total",
                &[("channel", "email"), ("status", "sent")],
            ) == 2.0
    })
    .await;
    let after = scrape(&app).await;
    let m = |name: &str, labels: &[(&str, &str)]| moved(&after, name, labels);
    assert_eq!(
        m("herald_http_request_seconds_count", SEND),
        1.0,
        "{}",
        after.text
    );
    assert_eq!(
        m("herald_accept_to_commit_seconds_count", &[]),
        2.0,
        "the send and the event"
    );
    assert_eq!(m("herald_commit_to_frame_seconds_count", &[]), 1.0);
    assert_eq!(m("herald_notifications_processed_total", &[]), 2.0);
    assert_eq!(
        m(
            "herald_events_total",
            &[("source", "http"), ("outcome", "processed")]
        ),
        1.0
    );
    assert_eq!(
        m(
            "herald_provider_call_seconds_count",
            &[("channel", "email"), ("provider", "smtp")]
        ),
        2.0
    );
    assert_eq!(m("herald_ws_connects_total", &[]), 1.0);
    assert_eq!(after.value("herald_ws_sessions", &[]), 0.0);
    // Route templates, never raw paths; no user id in any label or value.
    assert!(
        after.text.contains("route=\"/api/v1/events\""),
        "{}",
        after.text
    );
    for id in [user.as_str(), "user_123"] {
        assert!(!after.text.contains(id), "{id} appears in the scrape");
    }
}

async fn the_same_event_again_counts_as_a_duplicate_and_an_unknown_type_as_dead_lettered(
    backend: Backend,
) {
    let smtp = SmtpServer::start().await;
    let Some(app) = app_with_smtp(backend, &smtp, |_| {}).await else {
        return;
    };
    import(&app, &movie_pack()).await;
    let event = &seed_events()[0].1;
    post_event(&app, event).await;
    post_event(&app, event).await;
    let unknown = json!({"event_id": "evt-x", "event_type": "nobody.listens", "user_id": "u"});
    let (status, out) = post_event(&app, &unknown).await;
    assert_eq!((status, out["status"].as_str()), (202, Some("no_match")));
    let after = scrape(&app).await;
    let events = |outcome: &str| {
        after.value(
            "herald_events_total",
            &[("source", "http"), ("outcome", outcome)],
        )
    };
    assert_eq!(events("processed"), 1.0, "{}", after.text);
    assert_eq!(events("duplicate"), 1.0);
    assert_eq!(
        events("dead_lettered"),
        1.0,
        "parked for replay, counted once"
    );
    assert_eq!(events("no_match"), 0.0);
}

async fn refusals_are_counted_by_limiter_and_metrics_need_no_credentials(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.ws.max_sessions_per_user = 1;
    })
    .await
    else {
        return;
    };
    let token = app.token("capped").await;
    let (_first, _) = app.ws(&token, None).await;
    let second = tokio_tungstenite::connect_async(app.ws_url(&token, None)).await;
    assert!(second.is_err(), "the cap refuses a second session");
    let after = scrape(&app).await;
    assert_eq!(
        after.value(
            "herald_rate_limit_refusals_total",
            &[("limiter", "sessions_per_user")]
        ),
        1.0,
        "{}",
        after.text
    );
    // As before: Prometheus scrapes without credentials, and a bad token changes nothing.
    let res = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.unwrap().contains("capped"));
}

on_both!(
    a_send_an_event_and_a_websocket_session_move_their_series,
    the_same_event_again_counts_as_a_duplicate_and_an_unknown_type_as_dead_lettered,
    refusals_are_counted_by_limiter_and_metrics_need_no_credentials,
);
