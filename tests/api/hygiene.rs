//! Data hygiene: atomic preference changes, complete user erasure, delivery
//! retention (`retention`), and an index behind every delivery lookup (`explain`).

mod explain;
mod retention;

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both;
use chrono::{DateTime, Utc};
use entity::{dead_letters, deliveries, delivery_attempts, devices, notifications, preferences};
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter,
};
use secrecy::SecretString;
use serde_json::{json, Value};
use uuid::Uuid;

const JWT_SECRET: &str = "hygiene-test-secret-0123456789abcdef";

/// An app whose unsubscribe links the test can sign, with background retention off
/// so only the test's own `step` calls delete anything.
async fn app_on(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| {
        s.jwt_secret = Some(SecretString::from(JWT_SECRET.to_string()));
        s.retention.delivery_days = 0;
    })
    .await
}

/// A second connection to the app's own database, as an operator would have.
async fn direct(app: &TestApp) -> DatabaseConnection {
    sea_orm::Database::connect(&app.database_url)
        .await
        .expect("direct connection to the test database")
}

fn delivery(
    user: &str,
    channel: &str,
    status: &str,
    updated_at: DateTime<Utc>,
) -> deliveries::ActiveModel {
    // Ids are UUIDv7 made when the row is: a row from the past has a past id.
    let made = Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        updated_at.timestamp() as u64,
        updated_at.timestamp_subsec_nanos(),
    ));
    deliveries::ActiveModel {
        id: Set(made),
        event_id: Set(None),
        notification_id: Set(None),
        rule_id: Set(None),
        user_id: Set(Some(user.to_string())),
        channel: Set(channel.to_string()),
        status: Set(status.to_string()),
        content: Set(
            json!({"channel": "email", "to": "someone@example.com", "subject": "s", "text": "t"})
                .to_string(),
        ),
        template_code: Set(None),
        template_version: Set(None),
        attempts: Set(1),
        next_attempt_at: Set(updated_at),
        last_error: Set(None),
        provider_message_id: Set(Some(format!("msg-{}", Uuid::new_v4()))),
        created_at: Set(updated_at),
        updated_at: Set(updated_at),
        lease_token: Set(None),
        category: Set("general".into()),
        priority: Set("normal".into()),
        endpoint_id: Set(None),
        request_id: Set(None),
        traceparent: Set(None),
    }
}

fn attempt(delivery_id: Uuid, n: i32) -> delivery_attempts::ActiveModel {
    delivery_attempts::ActiveModel {
        id: Set(Uuid::now_v7()),
        delivery_id: Set(delivery_id),
        attempt: Set(n),
        outcome: Set("sent".into()),
        error: Set(None),
        provider_message_id: Set(None),
        latency_ms: Set(3),
        created_at: Set(Utc::now()),
    }
}

/// Inserts a delivery with `attempts` attempt rows; returns its id.
async fn delivery_with_attempts(
    db: &DatabaseConnection,
    row: deliveries::ActiveModel,
    attempts: i32,
) -> Uuid {
    let id = row.insert(db).await.expect("insert delivery").id;
    for n in 1..=attempts {
        attempt(id, n).insert(db).await.expect("insert attempt");
    }
    id
}

async fn attempts_of(db: &DatabaseConnection, id: Uuid) -> u64 {
    delivery_attempts::Entity::find()
        .filter(delivery_attempts::Column::DeliveryId.eq(id))
        .count(db)
        .await
        .expect("count attempts")
}

async fn exists(db: &DatabaseConnection, id: Uuid) -> bool {
    deliveries::Entity::find_by_id(id)
        .one(db)
        .await
        .expect("find delivery")
        .is_some()
}

async fn twenty_concurrent_patches_and_an_unsubscribe_keep_all_21_opt_outs(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        return;
    };
    let user = "racer";
    let signer = herald::channels::email::UnsubscribeSigner::new(JWT_SECRET.as_bytes(), "");
    let unsubscribe = signer.url(user, "newsletter");
    let patches = (0..20).map(|i| {
        let app = &app;
        async move {
            let res = app
                .admin(Method::PATCH, &format!("/api/v1/users/{user}/preferences"))
                .json(&json!({"categories": {format!("category_{i:02}"): {"email": false}}}))
                .send()
                .await
                .expect("patch");
            assert_eq!(res.status(), 200, "PATCH {i}: {:?}", res.text().await);
        }
    });
    let unsub = async {
        let res = app
            .client
            .post(app.url(&unsubscribe))
            .send()
            .await
            .expect("unsubscribe");
        assert_eq!(res.status(), 200, "unsubscribe: {:?}", res.text().await);
    };
    futures_util::future::join(futures_util::future::join_all(patches), unsub).await;

    let res = app
        .admin(Method::GET, &format!("/api/v1/users/{user}/preferences"))
        .send()
        .await
        .expect("get");
    let doc: Value = res.json().await.expect("preferences json");
    let mut missing: Vec<String> = (0..20).map(|i| format!("category_{i:02}")).collect();
    missing.push("newsletter".into());
    missing.retain(|c| doc["categories"][c]["email"] != json!(false));
    assert!(missing.is_empty(), "lost opt-outs {missing:?} in {doc}");
}

async fn erasing_a_user_leaves_no_row_of_theirs_behind(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        return;
    };
    let db = direct(&app).await;
    let (user, other) = ("erase_me", "keep_me");
    for who in [user, other] {
        app.notify(who, "hello").await;
        let res = app
            .admin(Method::POST, &format!("/api/v1/users/{who}/devices"))
            .json(&json!({"token": format!("token-{who}"), "platform": "ios"}))
            .send()
            .await
            .expect("device");
        assert!(res.status().is_success(), "device for {who}");
        let res = app
            .admin(Method::PATCH, &format!("/api/v1/users/{who}/preferences"))
            .json(&json!({"channels": {"sms": false}}))
            .send()
            .await
            .expect("preferences");
        assert_eq!(res.status(), 200);
        // No rule matches, so the event is parked as a dead letter naming the user.
        let res = app
            .admin(Method::POST, "/api/v1/events")
            .json(&json!({"event_id": format!("evt-{who}"), "event_type": "nobody.listens", "user_id": who}))
            .send()
            .await
            .expect("event");
        assert_eq!(res.status(), 202, "{:?}", res.text().await);
    }
    let theirs = delivery_with_attempts(&db, delivery(user, "email", "sent", Utc::now()), 3).await;
    let kept = delivery_with_attempts(&db, delivery(other, "email", "sent", Utc::now()), 2).await;

    let res = app
        .admin(Method::DELETE, &format!("/api/v1/users/{user}"))
        .send()
        .await
        .expect("erase");
    assert_eq!(res.status(), 204);

    let count = |who: &'static str| {
        let db = db.clone();
        async move {
            let n = notifications::Entity::find()
                .filter(notifications::Column::UserId.eq(who))
                .count(&db)
                .await
                .expect("notifications");
            let d = devices::Entity::find()
                .filter(devices::Column::UserId.eq(who))
                .count(&db)
                .await
                .expect("devices");
            let p = preferences::Entity::find_by_id(who.to_string())
                .count(&db)
                .await
                .expect("preferences");
            let del = deliveries::Entity::find()
                .filter(deliveries::Column::UserId.eq(who))
                .count(&db)
                .await
                .expect("deliveries");
            let dl = dead_letters::Entity::find()
                .filter(dead_letters::Column::UserId.eq(who))
                .count(&db)
                .await
                .expect("dead letters");
            (n, d, p, del, dl)
        }
    };
    assert_eq!(count(user).await, (0, 0, 0, 0, 0), "rows left for {user}");
    assert_eq!(attempts_of(&db, theirs).await, 0, "their attempts remain");
    let (n, d, p, del, dl) = count(other).await;
    assert!(
        n >= 1 && d == 1 && p == 1 && del >= 1 && dl == 1,
        "others' rows were touched"
    );
    assert_eq!(
        attempts_of(&db, kept).await,
        2,
        "another user's attempts were erased"
    );
}

on_both!(
    twenty_concurrent_patches_and_an_unsubscribe_keep_all_21_opt_outs,
    erasing_a_user_leaves_no_row_of_theirs_behind
);
