//! Retention, driven by calling `step` directly on the test app's database.

use super::{app_on, attempts_of, delivery, delivery_with_attempts, direct, exists};
use crate::helpers::Backend;
use crate::on_both;
use chrono::{Duration, Utc};
use entity::deliveries;
use herald::retention::{Pruned, Retention, RetentionSettings};
use sea_orm::{EntityTrait, PaginatorTrait};

async fn retention_prunes_old_finished_deliveries_and_keeps_the_rest(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        return;
    };
    let db = direct(&app).await;
    let now = Utc::now();
    let (old, recent) = (now - Duration::days(31), now - Duration::days(29));
    let mut gone = vec![];
    for status in ["delivered", "dead", "suppressed", "sent", "bounced"] {
        gone.push(delivery_with_attempts(&db, delivery("u", "email", status, old), 2).await);
    }
    let mut stay = vec![];
    for status in ["delivered", "dead", "suppressed"] {
        stay.push(delivery_with_attempts(&db, delivery("u", "email", status, recent), 1).await);
    }
    for status in ["pending", "sending"] {
        let ancient = now - Duration::days(400);
        stay.push(delivery_with_attempts(&db, delivery("u", "sms", status, ancient), 1).await);
    }

    let retention = Retention::new(db.clone(), &RetentionSettings::default());
    let pruned = retention.step(now).await.expect("retention step");
    assert_eq!(
        pruned,
        Pruned {
            deliveries: 5,
            attempts: 10
        }
    );
    for id in gone {
        assert!(!exists(&db, id).await, "old finished delivery {id} kept");
        assert_eq!(attempts_of(&db, id).await, 0, "attempts of {id} kept");
    }
    for id in stay {
        assert!(exists(&db, id).await, "delivery {id} pruned");
        assert_eq!(attempts_of(&db, id).await, 1, "attempts of {id} pruned");
    }
    let again = retention.step(now).await.expect("second step");
    assert_eq!(again, Pruned::default(), "a second step finds nothing");
    let off = Retention::new(db.clone(), &RetentionSettings { delivery_days: 0 });
    assert_eq!(
        off.step(now + Duration::days(9999)).await.expect("off"),
        Pruned::default()
    );
}

/// More rows than one batch: the step loops until none are left.
async fn retention_works_through_more_rows_than_one_batch(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        return;
    };
    let db = direct(&app).await;
    let old = Utc::now() - Duration::days(90);
    let rows: Vec<deliveries::ActiveModel> = (0..2_500)
        .map(|_| delivery("bulk", "email", "delivered", old))
        .collect();
    for chunk in rows.chunks(500) {
        deliveries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&db)
            .await
            .expect("bulk insert");
    }
    let pruned = Retention::new(db.clone(), &RetentionSettings::default())
        .step(Utc::now())
        .await
        .expect("step");
    assert_eq!(pruned.deliveries, 2_500);
    assert_eq!(
        deliveries::Entity::find().count(&db).await.expect("count"),
        0
    );
}

on_both!(
    retention_prunes_old_finished_deliveries_and_keeps_the_rest,
    retention_works_through_more_rows_than_one_batch
);

/// Tests build settings from `Settings::defaults()`, which reads no environment,
/// so setting the variable here cannot leak into other tests.
#[test]
fn the_retention_age_defaults_to_30_days_and_comes_from_herald_retention_delivery_days() {
    let defaults = herald::config::Settings::defaults().expect("defaults");
    assert_eq!(defaults.retention.delivery_days, 30);
    let vars = [
        ("HERALD_RETENTION__DELIVERY_DAYS", "7"),
        ("HERALD_TWILIO_FROM", "+15550001111"),
        ("HERALD_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("HERALD_DELIVERY_LEASE_SECS", "12"),
    ];
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
    let loaded = herald::config::Settings::load();
    for (k, _) in vars {
        std::env::remove_var(k);
    }
    let loaded = loaded.expect("settings load");
    assert_eq!(loaded.retention.delivery_days, 7);
    // Text stays text: an E.164 sender keeps its plus.
    assert_eq!(loaded.twilio_from.as_deref(), Some("+15550001111"));
    assert!(loaded.webhook_allow_private);
    assert_eq!(loaded.delivery_lease_secs, 12);
}
