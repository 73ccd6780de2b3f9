//! Several in-process nodes on one PostgreSQL database and one Redis, with
//! `HERALD_BUS=redis`: frames cross nodes (`fanout`), presence follows
//! sockets and heartbeats (`presence`), and a Redis outage loses no
//! notification (`outage`). The memory bus's own report and presence are in
//! `single_node`.

mod fanout;
mod outage;
mod presence;
mod single_node;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use herald::bus::BusKind;
use herald::config::Settings;
use secrecy::SecretString;
use serde_json::Value;

pub fn redis_url() -> String {
    std::env::var("HERALD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn require_services() -> bool {
    std::env::var("HERALD_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

/// Whether Redis answers at `url`; says loudly when it does not.
pub async fn redis_reachable(url: &str) -> bool {
    let ping = async {
        let client = redis::Client::open(url)?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), ping).await {
        Ok(Ok(_)) => true,
        other => {
            if require_services() {
                panic!("HERALD_REQUIRE_SERVICES=1 but Redis is unreachable at {url}: {other:?}");
            }
            eprintln!("\n!!! SKIPPED: cannot reach Redis at {url}: {other:?}\n!!! Set HERALD_TEST_REDIS_URL or start Redis; CI sets HERALD_REQUIRE_SERVICES=1.\n");
            false
        }
    }
}

/// The id of node `i` of a cluster.
pub fn node_id(i: usize) -> String {
    format!("node-{i}")
}

/// `n` nodes sharing one fresh PostgreSQL database, one JWT secret, one admin
/// key and one Redis (under a prefix of their own, so parallel tests do not
/// hear each other). Returns once every node's subscription is up.
pub async fn cluster(
    n: usize,
    redis: &str,
    tweak: impl Fn(&mut Settings) + Clone,
) -> Option<Vec<TestApp>> {
    if !redis_reachable(redis).await {
        return None;
    }
    let prefix = format!("herald-test-{}", uuid::Uuid::new_v4().simple());
    let secret = format!("cluster-secret-{}", uuid::Uuid::new_v4());
    let node_settings = |i: usize, s: &mut Settings| {
        s.bus = BusKind::Redis;
        s.redis_url = Some(SecretString::from(redis.to_string()));
        s.node_id = Some(node_id(i));
        s.bus_channel_prefix = prefix.clone();
        s.jwt_secret = Some(SecretString::from(secret.clone()));
        s.presence_ttl_secs = 3;
        tweak.clone()(s);
    };
    // The first node owns the database (and drops it when the test ends).
    let first = spawn_app_with(Backend::Postgres, |s| node_settings(0, s)).await?;
    let mut nodes = vec![first];
    for i in 1..n {
        let (db, key) = (nodes[0].database_url.clone(), nodes[0].admin_key.clone());
        let mut node = spawn_app_with(Backend::Sqlite, |s| {
            node_settings(i, s);
            s.database_url = Some(SecretString::from(db));
            s.admin_api_key = Some(SecretString::from(key.clone()));
        })
        .await?;
        node.admin_key = key;
        node.backend = Backend::Postgres;
        nodes.push(node);
    }
    for node in &nodes {
        crate::helpers::wait_for("the bus subscription", 15, || async {
            bus_state(node).await == "connected"
        })
        .await;
    }
    Some(nodes)
}

/// `components.realtime_bus.state` from `/ready`.
pub async fn bus_state(app: &TestApp) -> String {
    let ready: Value = app.ready().await;
    ready["components"]["realtime_bus"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// `GET /api/v1/users/{user}/presence`.
pub async fn presence(app: &TestApp, user: &str) -> Value {
    let res = app
        .admin(
            reqwest::Method::GET,
            &format!("/api/v1/users/{user}/presence"),
        )
        .send()
        .await
        .expect("presence request");
    assert_eq!(res.status(), 200, "presence: {:?}", res.text().await);
    res.json().await.expect("presence json")
}
