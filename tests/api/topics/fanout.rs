//! A send to a 2,000-subscriber topic: every connected subscriber gets it
//! exactly once, in batches of one commit each, and neither a repeat nor a
//! resumed fan-out sends anything twice.

use super::{get, topic_with};
use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp, Ws};
use crate::on_both;
use futures_util::{stream, StreamExt};
use reqwest::Method;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::{json, Value};
use std::time::Duration;

const SUBSCRIBERS: usize = 2000;
const BATCH: u64 = 500;
/// Sockets opened (and read) at once.
const CONCURRENCY: usize = 32;
/// Tokens are minted here: 2,000 token requests on a loaded machine time out.
const JWT_SECRET: &str = "topics-fanout-secret-0123456789abcdef";

fn token(user: &str) -> String {
    let claims = json!({"sub": user, "exp": chrono::Utc::now().timestamp() + 3600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("token")
}

/// Opens one socket per user, `CONCURRENCY` at a time, each past its hello frame.
async fn connect_all(app: &TestApp, users: &[String]) -> Vec<(String, Ws)> {
    stream::iter(users.iter().cloned())
        .map(|u| async move {
            let (ws, _) = app.ws(&token(&u), None).await;
            (u, ws)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await
}

/// Notification frames each socket receives until it has been quiet for `quiet`.
async fn count_frames(sockets: Vec<(String, Ws)>, quiet: Duration) -> Vec<(String, usize)> {
    stream::iter(sockets)
        .map(|(u, mut ws)| async move {
            let mut n = 0;
            while let Ok(Some(Ok(msg))) = tokio::time::timeout(quiet, ws.next()).await {
                if let Ok(text) = msg.to_text() {
                    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
                    if v["type"] == "notification" {
                        n += 1;
                    }
                }
            }
            (u, n)
        })
        .buffer_unordered(256)
        .collect()
        .await
}

async fn progress_when_done(app: &TestApp, id: &str) -> Value {
    let path = format!("/api/v1/topics/premieres/sends/{id}");
    wait_for("the fan-out to finish", 120, || async {
        get(app, &path).await.1["status"] == "done"
    })
    .await;
    get(app, &path).await.1
}

async fn sql(db: &DatabaseConnection, statement: &str) {
    db.execute_unprepared(statement).await.expect(statement);
}

async fn a_topic_send_reaches_every_connected_subscriber_exactly_once_in_batches(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| {
        s.jwt_secret = Some(secrecy::SecretString::from(JWT_SECRET.to_string()));
        s.topics.fanout_batch = BATCH;
        s.ws.max_connections_per_ip = 10_000;
        // The sockets sit idle while the others open.
        s.ws.heartbeat_interval_secs = 120;
        s.ws.client_timeout_secs = 600;
    })
    .await
    else {
        return;
    };
    let users: Vec<String> = (0..SUBSCRIBERS).map(|i| format!("fan-{i:04}")).collect();
    topic_with(&app, "premieres", &users).await;
    let opted_out = "fan-0777";
    let res = app
        .admin(
            Method::PUT,
            &format!("/api/v1/users/{opted_out}/preferences"),
        )
        .json(&json!({"channels": {"in_app": false}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let sockets = connect_all(&app, &users).await;
    assert_eq!(sockets.len(), SUBSCRIBERS);

    let send = json!({"topic": "premieres", "title": "Dune: Part Three", "body": "Tickets on sale",
                      "request_id": "premiere-dune-3"});
    let res = app.send(send.clone()).await;
    assert_eq!(res.status(), 202);
    let first: Value = res.json().await.unwrap();
    let id = first["fanout_id"].as_str().expect("fan-out id").to_string();
    let done = progress_when_done(&app, &id).await;
    assert_eq!(
        (
            &done["processed"],
            &done["notified"],
            &done["suppressed"],
            &done["batches"]
        ),
        (&json!(2000), &json!(1999), &json!(1), &json!(4)),
        "{done}"
    );
    // One commit per batch: a transaction stamps all its notifications with one time.
    let db = sea_orm::Database::connect(&app.database_url).await.unwrap();
    let guard = format!("topic:{id}");
    let commits = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(DISTINCT created_at) AS n FROM notifications WHERE request_id = '{guard}'"),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(commits, 4, "one transaction per batch of {BATCH}");

    // A repeat answers with the original fan-out and sends nothing.
    let res = app.send(send).await;
    assert_eq!(res.status(), 202);
    let again: Value = res.json().await.unwrap();
    assert_eq!(
        (again["fanout_id"].as_str(), &again["duplicate"]),
        (Some(id.as_str()), &json!(true))
    );

    // A crash that lost the cursor: the fan-out runs again from the start, and
    // every subscriber's guard makes each batch write nothing.
    sql(&db, &format!("UPDATE topic_fanouts SET status = 'running', cursor = NULL, processed = 0, notified = 0, suppressed = 0, batches = 0, finished_at = NULL WHERE id = '{id}'")).await;
    let resumed = progress_when_done(&app, &id).await;
    assert_eq!(
        (
            &resumed["processed"],
            &resumed["notified"],
            &resumed["batches"]
        ),
        (&json!(2000), &json!(1999), &json!(4)),
        "{resumed}"
    );

    let counts = count_frames(sockets, Duration::from_millis(1500)).await;
    let wrong: Vec<_> = counts
        .iter()
        .filter(|(u, n)| *n != usize::from(u != opted_out))
        .take(5)
        .collect();
    assert!(
        wrong.is_empty(),
        "frames per socket off (user, frames): {wrong:?}"
    );
}

on_both!(a_topic_send_reaches_every_connected_subscriber_exactly_once_in_batches);
