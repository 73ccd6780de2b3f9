use super::{digest_rule, feed, publish};
use crate::helpers::{spawn_app_with, wait_for, Backend};
use serde_json::json;
use std::time::Duration;

/// A node that takes events but flushes nothing (`flush_batch = 0`) stands
/// in for one that stopped before the window ended; a node started later on
/// the same PostgreSQL database sends the digest from what was committed.
#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn a_digest_folded_before_a_restart_is_sent_after_it_on_postgres() {
    let Some(before) = spawn_app_with(Backend::Postgres, |s| s.digest.flush_batch = 0).await else {
        return;
    };
    digest_rule(&before, json!({"digest": {"window": "1s"}})).await;
    for n in 1..=3 {
        publish(&before, "rex", json!({"n": n})).await;
    }
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert!(
        feed(&before, "rex").await.is_empty(),
        "nothing flushed before the restart"
    );
    let url = before.database_url.clone();
    let after = spawn_app_with(Backend::Sqlite, move |s| {
        s.database_url = Some(secrecy::SecretString::from(url));
    })
    .await
    .expect("second node");
    wait_for("the digest after the restart", 8, || async {
        feed(&after, "rex").await.len() == 1
    })
    .await;
    assert_eq!(feed(&after, "rex").await[0]["body"], "1;2;3;");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(feed(&after, "rex").await.len(), 1, "sent once");
}

/// Two nodes flush one PostgreSQL database at once: every bucket is claimed
/// by one of them, so each digest arrives exactly once.
#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn two_nodes_flushing_one_database_send_each_digest_once_on_postgres() {
    let Some(a) = spawn_app_with(Backend::Postgres, |_| {}).await else {
        return;
    };
    let url = a.database_url.clone();
    let b = spawn_app_with(Backend::Sqlite, move |s| {
        s.database_url = Some(secrecy::SecretString::from(url));
    })
    .await
    .expect("second node");
    digest_rule(&a, json!({"digest": {"key": "k", "window": "1s"}})).await;
    // The second node's catalog learns the template within about a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for key in 0..20 {
        for n in 1..=2 {
            let node = if n == 1 { &a } else { &b };
            publish(node, "sam", json!({"n": n, "k": key})).await;
        }
    }
    wait_for("twenty digests", 15, || async {
        feed(&a, "sam").await.len() == 20
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let items = feed(&a, "sam").await;
    assert_eq!(items.len(), 20, "each digest once");
    assert!(items.iter().all(|n| n["body"] == "1;2;"), "{items:?}");
}
