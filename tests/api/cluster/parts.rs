//! The pieces of a `Cluster` that are not the cluster itself: each node's
//! environment, retried sends, counting in the database, broker cleanup.

use super::harness::ClusterSpec;
use crate::processes::ADMIN_KEY;
use crate::sources::amqp_url;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde_json::Value;
use std::time::Duration;

/// `POST /send` to `base`, retried on a dropped connection or an error answer;
/// the body's `request_id` makes a retry harmless. The 202 body.
pub async fn send_retrying(client: &reqwest::Client, base: &str, body: &Value) -> Value {
    let mut last = String::new();
    // Up to 30 s: long enough to ride out the outages these tests cause.
    for _ in 0..150 {
        let res = client
            .post(format!("{base}/api/v1/send"))
            .bearer_auth(ADMIN_KEY)
            .json(body)
            .timeout(Duration::from_secs(20))
            .send()
            .await;
        match res {
            Ok(r) if r.status() == 202 => return r.json().await.expect("send json"),
            Ok(r) => last = format!("{}: {}", r.status(), r.text().await.unwrap_or_default()),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("send {body} to {base} kept failing: {last}")
}

/// One number from a `SELECT count(...)`-like query. Retried for a while: on a
/// shared PostgreSQL the pool may wait for a free server connection.
pub async fn scalar(db: &DatabaseConnection, sql: &str) -> i64 {
    let mut last = None;
    for _ in 0..60 {
        let stmt = Statement::from_string(DbBackend::Postgres, sql);
        match db.query_one_raw(stmt).await {
            Ok(Some(row)) => return row.try_get_by_index::<i64>(0).expect("an integer"),
            Ok(None) => panic!("no row from {sql}"),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("{sql} kept failing: {last:?}")
}

pub fn node_id(tag: &str, i: usize) -> String {
    format!("n{i}-{tag}")
}

pub fn node_env(tag: &str, i: usize, spec: &ClusterSpec) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("HERALD_BUS".into(), "redis".into()),
        ("HERALD_NODE_ID".into(), node_id(tag, i)),
        ("HERALD_REDIS_URL".into(), spec.redis_url.clone()),
        // Outages are short in these tests: a crashed sender's rows come back in seconds.
        ("HERALD_DELIVERY_LEASE_SECS".into(), "3".into()),
        ("HERALD_SHUTDOWN_DEADLINE_SECS".into(), "10".into()),
    ];
    if let Some((exchange, queues)) = &spec.amqp {
        env.push(("HERALD_AMQP_URL".into(), amqp_url()));
        env.push(("HERALD_AMQP_EXCHANGE".into(), exchange.clone()));
        env.push(("HERALD_AMQP_QUEUES".into(), queues[i].clone()));
    }
    if let Some(port) = spec.smtp_port {
        env.push((
            "HERALD_SMTP_URL".into(),
            format!("smtp://127.0.0.1:{port}?tls=none"),
        ));
    }
    env.extend(spec.extra.iter().cloned());
    env
}

/// Deletes a test's queues and exchange, so thousands of leftover messages do not stay in the broker.
/// Blocking, on its own thread and runtime, because it runs from `Drop`.
pub fn delete_broker_objects(exchange: String, specs: Vec<String>) {
    let queues: Vec<String> = specs
        .iter()
        .flat_map(|s| s.split(';'))
        .filter_map(|q| q.split('=').next())
        .map(str::to_string)
        .collect();
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
            let props = lapin::ConnectionProperties::default();
            let Ok(conn) = lapin::Connection::connect(&amqp_url(), props).await else {
                return;
            };
            if let Ok(ch) = conn.create_channel().await {
                for q in &queues {
                    let _ = ch
                        .queue_delete(q.as_str().into(), QueueDeleteOptions::default())
                        .await;
                }
                let _ = ch
                    .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                    .await;
            }
            let _ = conn.close(200, "bye".into()).await;
        });
    })
    .join();
}
