//! The fold and the claim against a real SQLite file, through the writer.

use crate::domain::{Category, Channel, Priority, UserId};
use crate::persistence::digests::{claim_due, finish, DigestFold, FlushPlan};
use crate::persistence::writer::{EventRecord, Guard, NotificationWriter, Unit};
use chrono::{Duration, Utc};
use serde_json::json;

fn unit(event_id: &str, key: &str, max_items: u32, due_in: Duration) -> Unit {
    let user = UserId::parse("ann").expect("user");
    Unit {
        guard: Some(Guard::Event(EventRecord {
            event_id: event_id.into(),
            event_type: "order.updated".into(),
            source: "rest".into(),
            status: "processed".into(),
            outcome: json!({"rules": []}),
        })),
        digests: vec![DigestFold {
            user,
            rule_id: uuid::Uuid::nil(),
            key: key.into(),
            due_at: Utc::now() + due_in,
            max_items,
            event_id: event_id.into(),
            payload: json!({"n": event_id}),
            plan: FlushPlan {
                template_code: "t".into(),
                channels: vec![Channel::InApp],
                category: Category::parse("updates").expect("category"),
                priority: Priority::Normal,
                email: None,
                phone: None,
            },
            reason: "digest".into(),
        }],
        ..Unit::default()
    }
}

#[tokio::test]
async fn folds_share_a_bucket_per_key_keep_their_order_and_close_it_when_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/fold.db", dir.path().display());
    let db = crate::persistence::connect(&url).await.expect("database");
    let (writer, tasks) = NotificationWriter::new(db.clone());
    for t in tasks {
        tokio::spawn(t.run());
    }
    for (id, key) in [
        ("e1", "A"),
        ("e2", "B"),
        ("e3", "A"),
        ("e4", "A"),
        ("e5", "A"),
    ] {
        writer
            .write(unit(id, key, 3, Duration::hours(1)))
            .await
            .expect("write");
    }
    // A repeat of an event is a duplicate and folds nothing.
    writer
        .write(unit("e1", "A", 3, Duration::hours(1)))
        .await
        .expect("repeat");
    // Only the bucket that reached three items is due; the others wait for their hour.
    let lease = Duration::seconds(30);
    let due = claim_due(&db, Utc::now(), lease, 10).await.expect("claim");
    assert_eq!(due.len(), 1);
    let ids: Vec<&str> = due[0].items.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(ids, ["e1", "e3", "e4"]);
    assert!(
        claim_due(&db, Utc::now(), lease, 10)
            .await
            .expect("again")
            .is_empty(),
        "leased"
    );
    // A lease that ran out is claimed again, and only the newest claim may finish.
    let later = Utc::now() + Duration::seconds(31);
    let retaken = claim_due(&db, later, lease, 10).await.expect("retake");
    assert_eq!(retaken.len(), 1);
    assert!(!finish(&db, &due[0], json!({"bucket": due[0].id}))
        .await
        .expect("stale"));
    assert!(finish(&db, &retaken[0], json!({"bucket": retaken[0].id}))
        .await
        .expect("finish"));
    let audit = crate::persistence::events::find(&db, "e3")
        .await
        .expect("find")
        .expect("row");
    let outcome: serde_json::Value = serde_json::from_str(&audit.outcome).expect("json");
    assert_eq!(outcome["digests"][0]["position"], 2);
    assert_eq!(outcome["digest_flushes"][0]["bucket"], json!(retaken[0].id));
    // The fifth event opened a new bucket for A; with B it is due in an hour.
    let hour = Utc::now() + Duration::hours(2);
    let rest = claim_due(&db, hour, lease, 10).await.expect("rest");
    let mut keys: Vec<&str> = rest.iter().map(|b| b.key.as_str()).collect();
    keys.sort();
    assert_eq!(keys, ["A", "B"]);
}
