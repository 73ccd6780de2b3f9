//! Data hygiene: atomic preference changes, complete user erasure, delivery
//! retention, and an index behind every delivery lookup.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use crate::on_both;
use chrono::{DateTime, Duration, Utc};
use entity::{dead_letters, deliveries, delivery_attempts, devices, notifications, preferences};
use herald::retention::{Pruned, Retention, RetentionSettings};
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, QueryTrait, Statement,
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
    deliveries::ActiveModel {
        id: Set(Uuid::now_v7()),
        event_id: Set(None),
        notification_id: Set(None),
        rule_id: Set(None),
        user_id: Set(Some(user.to_string())),
        channel: Set(channel.to_string()),
        status: Set(status.to_string()),
        content: Set(json!({"to": "someone@example.com"}).to_string()),
        template_code: Set(None),
        template_version: Set(None),
        attempts: Set(1),
        next_attempt_at: Set(updated_at),
        last_error: Set(None),
        provider_message_id: Set(Some(format!("msg-{}", Uuid::new_v4()))),
        created_at: Set(updated_at),
        updated_at: Set(updated_at),
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

async fn retention_prunes_old_finished_deliveries_and_keeps_the_rest(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        return;
    };
    let db = direct(&app).await;
    let now = Utc::now();
    let (old, recent) = (now - Duration::days(31), now - Duration::days(29));
    let mut gone = vec![];
    for status in ["delivered", "dead", "suppressed"] {
        gone.push(delivery_with_attempts(&db, delivery("u", "email", status, old), 2).await);
    }
    let mut stay = vec![];
    for status in ["delivered", "dead", "suppressed"] {
        stay.push(delivery_with_attempts(&db, delivery("u", "email", status, recent), 1).await);
    }
    for status in ["pending", "sending", "sent"] {
        let ancient = now - Duration::days(400);
        stay.push(delivery_with_attempts(&db, delivery("u", "sms", status, ancient), 1).await);
    }

    let retention = Retention::new(db.clone(), &RetentionSettings::default());
    let pruned = retention.step(now).await.expect("retention step");
    assert_eq!(
        pruned,
        Pruned {
            deliveries: 3,
            attempts: 6
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
    twenty_concurrent_patches_and_an_unsubscribe_keep_all_21_opt_outs,
    erasing_a_user_leaves_no_row_of_theirs_behind,
    retention_prunes_old_finished_deliveries_and_keeps_the_rest,
    retention_works_through_more_rows_than_one_batch
);

/// `EXPLAIN` of a sea-orm query exactly as the server builds it.
async fn plan(db: &DatabaseConnection, name: &str, query: Statement) -> String {
    let explain = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("EXPLAIN {}", query.sql),
        query.values.map(|v| v.0).unwrap_or_default(),
    );
    let rows = db.query_all_raw(explain).await.expect("EXPLAIN");
    let plan: Vec<String> = rows
        .iter()
        .map(|r| r.try_get::<String>("", "QUERY PLAN").expect("plan line"))
        .collect();
    let plan = plan.join("\n");
    println!("--- {name}\n{}\n{plan}\n", query.sql);
    plan
}

/// PostgreSQL only: SQLite's planner is not what production load runs on.
#[actix_web::test]
async fn on_postgres_every_delivery_lookup_and_the_retention_delete_use_an_index() {
    let Some(app) = app_on(Backend::Postgres).await else {
        return;
    };
    // One connection, so the session setting applies to every EXPLAIN.
    let mut opts = sea_orm::ConnectOptions::new(app.database_url.clone());
    opts.max_connections(1)
        .min_connections(1)
        .sqlx_logging(false);
    let db = sea_orm::Database::connect(opts).await.expect("connect");
    db.execute_unprepared("SET enable_seqscan = off")
        .await
        .expect("enable_seqscan");
    let pg = DbBackend::Postgres;
    let ids = [Uuid::now_v7(), Uuid::now_v7()];
    use deliveries::Column as C;
    let ack = deliveries::Entity::update_many()
        .col_expr(C::Status, sea_orm::sea_query::Expr::value("delivered"))
        .filter(C::UserId.eq("u"))
        .filter(C::Channel.eq("in_app"))
        .filter(C::NotificationId.is_in(ids))
        .build(pg);
    let callback = deliveries::Entity::find()
        .filter(C::ProviderMessageId.eq("msg-1"))
        .filter(C::Channel.eq("sms"))
        .build(pg);
    let throttle = deliveries::Entity::find()
        .select_only()
        .column_as(C::Id.count(), "n")
        .filter(C::UserId.eq("u"))
        .filter(C::Channel.eq("push"))
        .filter(C::CreatedAt.gte(Utc::now()))
        .build(pg);
    let status_api = deliveries::Entity::find()
        .filter(C::NotificationId.eq(ids[0]))
        .build(pg);
    let finished = herald::retention::FINISHED;
    let retention_pick = deliveries::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::Status.is_in(finished))
        .filter(C::UpdatedAt.lt(Utc::now()))
        .limit(1000)
        .build(pg);
    let retention_delete = deliveries::Entity::delete_many()
        .filter(C::Id.is_in(ids))
        .filter(C::Status.is_in(finished))
        .filter(C::UpdatedAt.lt(Utc::now()))
        .build(pg);
    let attempts_delete = delivery_attempts::Entity::delete_many()
        .filter(delivery_attempts::Column::DeliveryId.is_in(ids))
        .build(pg);
    let dead_letters_erase = dead_letters::Entity::delete_many()
        .filter(dead_letters::Column::UserId.eq("u"))
        .build(pg);
    let mut seq_scans = vec![];
    for (name, query) in [
        ("SDK ack", ack),
        ("provider callback", callback),
        ("push throttle", throttle),
        ("status API", status_api),
        ("retention: pick a batch", retention_pick),
        ("retention: delete the batch", retention_delete),
        ("retention: delete its attempts", attempts_delete),
        ("erase: dead letters", dead_letters_erase),
    ] {
        let plan = plan(&db, name, query).await;
        if plan.contains("Seq Scan") || !plan.contains("Index Cond") {
            seq_scans.push(name);
        }
    }
    assert!(
        seq_scans.is_empty(),
        "not served by an index: {seq_scans:?}"
    );
}
