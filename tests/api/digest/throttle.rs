use super::{audit, digest_rule, feed, publish};
use crate::helpers::{wait_for, TestApp};
use crate::on_both_databases;
use serde_json::json;

on_both_databases!(
    a_throttle_of_two_sends_two_of_five_events_and_audits_three_as_dropped,
    a_throttle_with_digest_excess_folds_the_rest_into_one_notification,
);

async fn a_throttle_of_two_sends_two_of_five_events_and_audits_three_as_dropped(app: TestApp) {
    digest_rule(
        &app,
        json!({"throttle": {"limit": 2, "window": "1h", "scope": "rule", "excess": "drop"}}),
    )
    .await;
    let mut ids = vec![];
    for n in 1..=5 {
        ids.push(publish(&app, "tom", json!({"n": n})).await);
    }
    let items = feed(&app, "tom").await;
    let titles: Vec<_> = items.iter().map(|n| n["title"].clone()).collect();
    assert_eq!(titles, [json!("update 2"), json!("update 1")]);
    for id in &ids[2..] {
        let a = audit(&app, id).await;
        let held = &a["outcome"]["rules"][0]["held"];
        assert_eq!(
            held["throttled"], "throttled: 2 in 1h for rule order updates",
            "{a}"
        );
        assert_eq!(held["excess"], "dropped");
    }
    assert!(audit(&app, &ids[0]).await["outcome"]["rules"][0]["held"].is_null());
}

async fn a_throttle_with_digest_excess_folds_the_rest_into_one_notification(app: TestApp) {
    digest_rule(
        &app,
        json!({"throttle": {"limit": 2, "window": "2s", "scope": "category", "excess": "digest"}}),
    )
    .await;
    let mut ids = vec![];
    for n in 1..=5 {
        ids.push(publish(&app, "uma", json!({"n": n})).await);
    }
    assert_eq!(feed(&app, "uma").await.len(), 2, "two sent at once");
    let a = audit(&app, &ids[4]).await;
    let digested = &a["outcome"]["rules"][0]["held"]["digested"];
    assert_eq!(
        digested["reason"], "throttled: 2 in 2s for category updates",
        "{a}"
    );
    assert_eq!(
        digested["window"], "2s",
        "the throttle's window, as the rule has no digest"
    );
    wait_for("the digest of the excess", 8, || async {
        feed(&app, "uma").await.len() == 3
    })
    .await;
    assert_eq!(feed(&app, "uma").await[0]["body"], "3;4;5;");
}
