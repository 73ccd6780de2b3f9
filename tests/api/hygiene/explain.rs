//! Query plans on PostgreSQL: every delivery lookup is served by an index.

use super::app_on;
use crate::helpers::Backend;
use chrono::Utc;
use entity::{dead_letters, deliveries, delivery_attempts};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QuerySelect, QueryTrait, Statement,
};
use uuid::Uuid;

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
#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
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
        .filter(C::Status.eq("sent"))
        .build(pg);
    let callback = deliveries::Entity::find()
        .filter(C::ProviderMessageId.eq("msg-1"))
        .filter(C::Channel.eq("sms"))
        .build(pg);
    let throttle = deliveries::Entity::find()
        .select_only()
        .column_as(C::Id.count(), "n")
        .filter(sea_orm::sea_query::Expr::cust(
            herald::persistence::deliveries::PUSH_ROWS,
        ))
        .filter(C::UserId.eq("u"))
        .filter(C::CreatedAt.gte(Utc::now()))
        .build(pg);
    let status_api = deliveries::Entity::find()
        .filter(C::NotificationId.eq(ids[0]))
        .build(pg);
    let finished = herald::domain::DeliveryStatus::settled();
    let retention_pick = deliveries::Entity::find()
        .select_only()
        .column(C::Id)
        .filter(C::Id.lt(herald::retention::first_id_at(Utc::now())))
        .filter(C::Status.is_in(finished.clone()))
        .filter(C::UpdatedAt.lt(Utc::now()))
        .limit(1000)
        .build(pg);
    let retention_delete = deliveries::Entity::delete_many()
        .filter(C::Id.is_in(ids))
        .filter(C::Status.is_in(finished.clone()))
        .filter(C::UpdatedAt.lt(Utc::now()))
        .build(pg);
    let attempts_delete = delivery_attempts::Entity::delete_many()
        .filter(delivery_attempts::Column::DeliveryId.is_in(ids))
        .build(pg);
    let dead_letters_erase = dead_letters::Entity::delete_many()
        .filter(dead_letters::Column::UserId.eq("u"))
        .build(pg);
    // The scheduler's claim, as `persistence::deliveries::claim` writes it for one channel.
    let claim = Statement::from_sql_and_values(
        pg,
        "SELECT id FROM deliveries WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1 \
         AND channel = $2 ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED",
        [Utc::now().into(), "sms".into(), 32i64.into()],
    );
    let by_request = deliveries::Entity::find()
        .filter(C::RequestId.eq("r-1"))
        .filter(C::UserId.eq("u"))
        .build(pg);
    let webhook_log = deliveries::Entity::find()
        .filter(C::EndpointId.eq(ids[0]))
        .build(pg);
    let send_guard =
        entity::send_requests::Entity::find_by_id(("u".to_string(), "r-1".to_string())).build(pg);
    let mut seq_scans = vec![];
    for (name, query) in [
        ("scheduler claim", claim),
        ("status by request id", by_request),
        ("webhook endpoint log", webhook_log),
        ("/send idempotency guard", send_guard),
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
