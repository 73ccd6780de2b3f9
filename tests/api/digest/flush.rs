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
