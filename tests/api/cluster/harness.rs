//! `Cluster`: N real `herald serve` processes on one fresh PostgreSQL database,
//! the shared Redis (or a private one) and RabbitMQ, with one admin key and one
//! JWT secret, so any node answers for any user.

use super::parts::{delete_broker_objects, node_env, node_id, send_retrying};
use crate::helpers::{Backend, Ws};
use crate::processes::{Node, SharedDb, ADMIN_KEY};
use crate::sources::redis_url;
use reqwest::Method;
use sea_orm::DatabaseConnection;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// How long a node may take from spawn to a healthy `/ready`.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// What every node of one cluster shares, and what differs per node.
pub struct ClusterSpec {
    pub nodes: usize,
    pub redis_url: String,
    /// `(exchange, queues of node i)`: each node consumes its own `HERALD_AMQP_QUEUES`.
    pub amqp: Option<(String, Vec<String>)>,
    pub smtp_port: Option<u16>,
    pub extra: Vec<(String, String)>,
}

impl ClusterSpec {
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes,
            redis_url: redis_url(),
            amqp: None,
            smtp_port: None,
            extra: vec![],
        }
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.extra.push((key.to_string(), value.to_string()));
        self
    }
}

pub struct Cluster {
    /// Unique per test: node ids, exchange, queues and user ids carry it.
    pub tag: String,
    pub client: reqwest::Client,
    nodes: Vec<Node>,
    /// Nodes killed or told to stop, and not restarted since.
    down: Vec<bool>,
    env: Vec<Vec<(String, String)>>,
    /// Processes replaced by `restart`, kept so their logs show if the test fails.
    replaced: Vec<Node>,
    amqp: Option<(String, Vec<String>)>,
    db: SharedDb,
}

pub fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_string()
}

impl Cluster {
    /// Starts every node at once and waits until each is ready; None (said loudly) without PostgreSQL.
    pub async fn start(tag: &str, spec: ClusterSpec) -> Option<Self> {
        let db = SharedDb::create(Backend::Postgres).await?;
        let env: Vec<Vec<(String, String)>> =
            (0..spec.nodes).map(|i| node_env(tag, i, &spec)).collect();
        let nodes =
            futures_util::future::join_all(env.iter().map(|e| Node::start_env(&db.url, e))).await;
        let cluster = Self {
            tag: tag.to_string(),
            client: reqwest::Client::new(),
            down: vec![false; nodes.len()],
            nodes,
            env,
            replaced: vec![],
            amqp: spec.amqp,
            db,
        };
        for i in 0..cluster.size() {
            cluster.await_ready(i).await;
        }
        Some(cluster)
    }

    pub fn size(&self) -> usize {
        self.nodes.len()
    }

    pub fn node_id(&self, i: usize) -> String {
        node_id(&self.tag, i)
    }

    pub fn port(&self, i: usize) -> u16 {
        self.nodes[i].port
    }

    pub fn url(&self, i: usize, path: &str) -> String {
        format!("{}{path}", self.nodes[i].base)
    }

    pub fn admin(&self, i: usize, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(i, path))
            .bearer_auth(ADMIN_KEY)
    }

    /// `/ready` of node i: (HTTP status, document), or None when nothing answers.
    pub async fn ready(&self, i: usize) -> Option<(u16, Value)> {
        let res = self
            .client
            .get(self.url(i, "/ready"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let status = res.status().as_u16();
        Some((status, res.json().await.unwrap_or(Value::Null)))
    }

    /// Waits until node i is healthy: database up, every configured source connected.
    pub async fn await_ready(&self, i: usize) {
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let ready = self.ready(i).await;
            let healthy = ready.as_ref().is_some_and(|(s, v)| {
                *s == 200
                    && v["status"] == "healthy"
                    && (self.amqp.is_none() || v["components"]["rabbitmq"] == "connected")
            });
            if healthy {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} not ready in {READY_WITHIN:?}: {ready:?}\n{}",
                self.nodes[i].log_tail()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// A user token minted by node 0; the JWT secret is shared, so every node accepts it.
    pub async fn token(&self, user: &str) -> String {
        let live = (0..self.size()).find(|&i| !self.down[i]);
        let i = live.expect("no node is running");
        let res = self
            .admin(i, Method::POST, &format!("/api/v1/users/{user}/token"))
            .send()
            .await
            .expect("token");
        assert_eq!(res.status(), 200, "token for {user}");
        let v: Value = res.json().await.expect("token json");
        v["token"].as_str().expect("token string").to_string()
    }

    /// `POST /send` on node i, retried until accepted; the 202 body.
    pub async fn send(&self, i: usize, body: &Value) -> Value {
        send_retrying(&self.client, &self.nodes[i].base, body).await
    }

    pub fn base(&self, i: usize) -> String {
        self.nodes[i].base.clone()
    }

    /// GET `path` on node i as the user with `token`: (status, JSON body).
    pub async fn get_json(&self, i: usize, token: &str, path: &str) -> (u16, Value) {
        let res = self
            .client
            .get(self.url(i, path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A WebSocket to node i, with its hello frame.
    pub async fn ws(&self, i: usize, token: &str) -> (Ws, Value) {
        let url = format!("ws://127.0.0.1:{}/api/v1/ws?token={token}", self.port(i));
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        let hello = crate::helpers::next_json(&mut ws).await;
        assert_eq!(hello["type"], "hello", "{hello}");
        (ws, hello)
    }

    /// Presence of `user` as node i answers it.
    pub async fn presence(&self, i: usize, user: &str) -> (u16, Value) {
        let res = self
            .admin(i, Method::GET, &format!("/api/v1/users/{user}/presence"))
            .send()
            .await
            .expect("presence");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Creates a template and a rule over REST on node i; the rule's id.
    pub async fn create_rule(&self, i: usize, template: &Value, rule: &Value) -> String {
        let res = self
            .admin(i, Method::POST, "/api/v1/templates")
            .json(template)
            .send()
            .await
            .expect("template");
        assert_eq!(
            res.status(),
            201,
            "template: {}",
            res.text().await.unwrap_or_default()
        );
        let res = self
            .admin(i, Method::POST, "/api/v1/rules")
            .json(rule)
            .send()
            .await
            .expect("rule");
        assert_eq!(
            res.status(),
            201,
            "rule: {}",
            res.text().await.unwrap_or_default()
        );
        let v: Value = res.json().await.expect("rule json");
        v["id"].as_str().expect("rule id").to_string()
    }

    /// Posts a REST event to node i until it is processed: proof that node i
    /// applies the rules created so far. Probe events go to `probe_user`.
    pub async fn await_rules_applied(&self, i: usize, probe_user: &str, fields: Value) {
        let deadline = Instant::now() + READY_WITHIN;
        for attempt in 0.. {
            let mut event = json!({"event_id": format!("{}-probe-{i}-{attempt}", self.tag),
                                   "user_id": probe_user});
            if let (Some(e), Some(f)) = (event.as_object_mut(), fields.as_object()) {
                e.extend(f.clone());
            }
            let res = self
                .admin(i, Method::POST, "/api/v1/events")
                .json(&event)
                .send()
                .await
                .expect("probe event");
            let v: Value = res.json().await.unwrap_or(Value::Null);
            if v["status"] == "processed" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {i} never applied the rules: {v}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// `GET /events/{id}` on node i: the audit, once some node recorded the event.
    pub async fn audit(&self, i: usize, event_id: &str) -> Option<Value> {
        let res = self
            .admin(i, Method::GET, &format!("/api/v1/events/{event_id}"))
            .send()
            .await
            .ok()?;
        if res.status() != 200 {
            return None;
        }
        res.json().await.ok()
    }

    /// A connection to the cluster's database, for counting what was committed.
    pub async fn db(&self) -> DatabaseConnection {
        let mut opts = sea_orm::ConnectOptions::new(self.db.url.clone());
        opts.sqlx_logging(false)
            .max_connections(2)
            .min_connections(1);
        sea_orm::Database::connect(opts)
            .await
            .expect("connect to the cluster's database")
    }

    /// kill -9 of node i; the process is reaped, its log kept.
    pub fn kill9(&mut self, i: usize) {
        self.down[i] = true;
        self.nodes[i].kill();
    }

    /// SIGTERM to node i; returns at once.
    pub fn sigterm(&mut self, i: usize) {
        self.down[i] = true;
        self.nodes[i].sigterm();
    }

    pub async fn wait_exit(
        &mut self,
        i: usize,
        within: Duration,
    ) -> Option<std::process::ExitStatus> {
        self.nodes[i].wait_exit(within).await
    }

    /// Starts node i again with the same settings (on a new port), and waits until it is ready.
    pub async fn restart(&mut self, i: usize) {
        self.nodes[i].kill();
        let fresh = Node::start_env(&self.db.url, &self.env[i]).await;
        let old = std::mem::replace(&mut self.nodes[i], fresh);
        self.replaced.push(old);
        self.down[i] = false;
        self.await_ready(i).await;
    }
}

impl Drop for Cluster {
    /// Stops every node, then deletes this test's queues and exchange.
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let Some((exchange, specs)) = self.amqp.take() else {
            return;
        };
        delete_broker_objects(exchange, specs);
    }
}
