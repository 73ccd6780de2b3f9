//! The realtime bus's Redis dies under load and comes back: `/ready` degrades
//! and recovers on every node, and no client loses a notification. The test
//! runs its own `redis-server` on a free port; the shared one is never touched.

use super::follower::Follower;
use super::harness::{tag, Cluster, ClusterSpec};
use super::load::Load;
use crate::helpers::free_port;
use crate::helpers::wait_for;
use std::process::{Child, Command, Stdio};

const USERS: usize = 6;

/// A private `redis-server` on `port`, killed on drop.
struct PrivateRedis {
    child: Option<Child>,
}

impl PrivateRedis {
    /// None (said loudly, or a failure under `HERALD_REQUIRE_SERVICES=1`) without a `redis-server` binary.
    async fn start(port: u16) -> Option<Self> {
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match spawned {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("HERALD_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
                    panic!("HERALD_REQUIRE_SERVICES=1 but redis-server cannot be started: {e}");
                }
                eprintln!("\n!!! SKIPPED: cannot start a private redis-server: {e}\n");
                return None;
            }
        };
        let redis = Self { child: Some(child) };
        wait_for("the private redis-server", 10, || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Some(redis)
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn status(c: &Cluster, i: usize) -> String {
    c.ready(i)
        .await
        .map(|(_, v)| v["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_redis_under_load_degrades_readiness_and_loses_no_notification() {
    let port = free_port();
    let Some(mut redis) = PrivateRedis::start(port).await else {
        return;
    };
    let tag = tag();
    let mut spec = ClusterSpec::new(3);
    spec.redis_url = format!("redis://127.0.0.1:{port}");
    let Some(c) = Cluster::start(&tag, spec).await else {
        return;
    };
    let users: Vec<String> = (0..USERS).map(|u| format!("{tag}-u{u}")).collect();
    let mut followers = vec![];
    for (u, user) in users.iter().enumerate() {
        let token = c.token(user).await;
        let ports = (0..3).map(|k| c.port((u + k) % 3)).collect();
        followers.push(Follower::start(user, &token, ports));
    }
    for f in &followers {
        assert!(f.connected(1, 10).await, "{} never connected", f.user);
    }
    let load = Load::new(users.clone());
    let running = load.start((0..3).map(|i| c.base(i)).collect());
    wait_for("some load before the outage", 30, || async {
        load.sent().iter().all(|&n| n >= 5)
    })
    .await;

    redis.kill();
    for i in 0..3 {
        wait_for(&format!("node {i} to report the outage"), 30, || async {
            status(&c, i).await == "degraded"
        })
        .await;
    }
    // Sends go on while the bus is down: they commit, and their frames wait for the resync.
    let degraded_at = load.sent();
    wait_for("sends during the outage", 30, || async {
        load.sent()
            .iter()
            .zip(&degraded_at)
            .all(|(n, d)| *n >= d + 2)
    })
    .await;
    let during = load.sent();
    redis = PrivateRedis::start(port).await.expect("redis comes back");
    for i in 0..3 {
        wait_for(&format!("node {i} to recover"), 60, || async {
            status(&c, i).await == "healthy"
        })
        .await;
    }
    // Sends after the recovery, so every client has something live to catch up from.
    let recovered_at = load.sent();
    wait_for("load after the recovery", 30, || async {
        load.sent()
            .iter()
            .zip(&recovered_at)
            .all(|(n, r)| *n >= r + 5)
    })
    .await;
    load.stop();
    running.await.expect("load");
    let sent = load.sent();
    println!(
        "MEASURED: redis restart: per user {degraded_at:?} sent when every node showed the outage, \
         {during:?} before Redis came back, {recovered_at:?} at recovery, {sent:?} in all; none lost"
    );
    for (f, expected) in followers.iter().zip(&sent) {
        assert!(
            f.reached(*expected, 30).await,
            "{} saw up to {} of {expected}",
            f.user,
            f.seen().last()
        );
        f.assert_gap_free(*expected);
    }
    drop(redis);
}
