//! A Redis outage: against a private redis-server, stopped and started again
//! while a node keeps sending. The socket on the other node gets every
//! notification once Redis is back, and `/ready` shows the bus degraded
//! meanwhile (status `degraded`, still 200) and connected after.

use super::{bus_state, cluster};
use crate::helpers::{next_json, wait_for};
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};

/// A redis-server of this test's own, killed when dropped.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    fn start(port: u16) -> Option<Self> {
        let spawned = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            Ok(child) => Some(Self {
                port,
                child: Some(child),
            }),
            Err(e) => {
                let required = std::env::var("HERALD_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
                assert!(
                    !required,
                    "HERALD_REQUIRE_SERVICES=1 but redis-server cannot start: {e}"
                );
                eprintln!("\n!!! SKIPPED: cannot start a private redis-server: {e}\n");
                None
            }
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn during_a_redis_outage_ready_degrades_and_no_notification_is_lost() {
    let Some(mut redis) = PrivateRedis::start(PrivateRedis::free_port()) else {
        return;
    };
    let url = redis.url();
    let port = redis.port;
    wait_for("the private redis-server", 10, || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    let Some(nodes) = cluster(2, &url, |_| {}).await else {
        return;
    };
    let token = nodes[0].token("oli").await;
    let (mut far, _) = nodes[1].ws(&token, None).await;
    let first = nodes[0].notify("oli", "before").await;
    assert_eq!(next_json(&mut far).await["type"], "notification", "{first}");

    redis.stop();
    for node in &nodes {
        wait_for("the bus to show degraded", 10, || async {
            bus_state(node).await == "degraded"
        })
        .await;
    }
    let ready = nodes[1]
        .client
        .get(nodes[1].url("/ready"))
        .send()
        .await
        .expect("ready");
    assert_eq!(
        ready.status(),
        200,
        "a bus outage degrades, it does not fail readiness"
    );
    let ready: serde_json::Value = ready.json().await.expect("ready json");
    assert_eq!(ready["status"], "degraded");

    for i in 0..3 {
        nodes[0].notify("oli", &format!("during {i}")).await;
    }
    let Some(_back) = PrivateRedis::start(redis.port) else {
        return;
    };
    for node in &nodes {
        wait_for("the bus to reconnect", 20, || async {
            bus_state(node).await == "connected"
        })
        .await;
    }
    // The three sent in the outage come back from the database, then a hello with the count.
    let mut titles = BTreeSet::new();
    let hello = loop {
        let f = next_json(&mut far).await;
        match f["type"].as_str() {
            Some("notification") => {
                titles.insert(
                    f["notification"]["title"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            Some("hello") => break f,
            _ => {}
        }
    };
    assert_eq!(
        titles,
        BTreeSet::from(["during 0".into(), "during 1".into(), "during 2".into()])
    );
    assert_eq!(hello["unread_count"], 4);
    assert_eq!(hello["recovered"], true);
    // And live frames flow again.
    nodes[0].notify("oli", "after").await;
    let f = next_json(&mut far).await;
    assert_eq!(f["notification"]["title"], "after");
}
