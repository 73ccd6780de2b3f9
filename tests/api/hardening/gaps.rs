//! Hardening tests: gaps. Redis stream entries that keep failing end as dead
//! letters instead of being retried forever, stale entries past the first
//! XAUTOCLAIM page are reached, and the files Herald writes are owner-only.

use crate::helpers::{spawn_app_with, wait_for, Backend, TestApp};
use crate::on_both;
use reqwest::Method;
use sea_orm::{ConnectionTrait, DbBackend};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;

fn redis_url() -> String {
    std::env::var("HERALD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn redis_reachable() -> bool {
    let ok = matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect("127.0.0.1:6379")
        )
        .await,
        Ok(Ok(_))
    );
    if !ok {
        if std::env::var("HERALD_REQUIRE_SERVICES").is_ok_and(|v| v == "1") {
            panic!("HERALD_REQUIRE_SERVICES=1 but Redis at 127.0.0.1:6379 is unreachable");
        }
        eprintln!("\n!!! SKIPPED: Redis at 127.0.0.1:6379 is unreachable\n");
    }
    ok
}

async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// An app reading `stream`, claiming entries idle for 300 ms.
async fn stream_app(backend: Backend, stream: &str, max_deliveries: u32) -> Option<TestApp> {
    let stream = stream.to_string();
    let app = spawn_app_with(backend, move |s| {
        s.redis_url = Some(SecretString::from(redis_url()));
        s.redis_streams = stream;
        s.redis_claim_idle_ms = 300;
        s.redis_max_deliveries = max_deliveries;
    })
    .await?;
    crate::events::import(
        &app,
        &serde_json::from_str::<Value>(include_str!("../../../examples/inventory/pack.json"))
            .unwrap(),
    )
    .await;
    Some(app)
}

/// Makes committing any event whose id starts with `fail-` fail in the
/// database, as an outage would: the pipeline sees a transient error.
async fn fail_commits_of_fail_ids(app: &TestApp) {
    let db = sea_orm::Database::connect(app.database_url.clone())
        .await
        .unwrap();
    let statements: &[&str] = match db.get_database_backend() {
        DbBackend::Sqlite => &["CREATE TRIGGER gaps_fail BEFORE INSERT ON events \
             WHEN NEW.event_id LIKE 'fail-%' BEGIN SELECT RAISE(ABORT, 'injected outage'); END"],
        _ => &[
            "CREATE FUNCTION gaps_fail() RETURNS trigger AS $$ BEGIN \
             IF NEW.event_id LIKE 'fail-%' THEN RAISE EXCEPTION 'injected outage'; END IF; \
             RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER gaps_fail BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION gaps_fail()",
        ],
    };
    for sql in statements {
        db.execute_unprepared(sql).await.unwrap();
    }
    let _ = db.close().await;
}

fn low_stock(id: &str, user: &str) -> String {
    json!({"event_id": id, "event_type": "inventory.low_stock", "sku": id,
           "current_stock": 1, "threshold": 5, "user_id": user})
    .to_string()
}

async fn pending(conn: &mut redis::aio::MultiplexedConnection, stream: &str) -> i64 {
    let summary: redis::Value = redis::cmd("XPENDING")
        .arg(stream)
        .arg("herald")
        .query_async(conn)
        .await
        .unwrap();
    match summary {
        redis::Value::Array(v) => match v.first() {
            Some(redis::Value::Int(n)) => *n,
            _ => -1,
        },
        _ => -1,
    }
}

async fn dead_letters(app: &TestApp) -> Vec<Value> {
    let list: Value = app
        .admin(Method::GET, "/api/v1/dead-letters")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn feed_len(app: &TestApp, user: &str) -> usize {
    let token = app.token(user).await;
    let (_, page) = app
        .get_json(&token, "/api/v1/notifications?limit=100")
        .await;
    page["items"].as_array().map(Vec::len).unwrap_or(0)
}

async fn a_stream_entry_that_keeps_failing_is_dead_lettered_after_its_deliveries_and_acknowledged(
    backend: Backend,
) {
    if !redis_reachable().await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let stream = format!("gaps:dead:{s}");
    let Some(app) = stream_app(backend, &stream, 3).await else {
        return;
    };
    fail_commits_of_fail_ids(&app).await;
    let mut conn = redis_conn().await;
    let id = format!("fail-{s}");
    let _: String =
        redis::AsyncCommands::xadd(&mut conn, &stream, "*", &[("event", low_stock(&id, "u"))])
            .await
            .unwrap();
    // Three deliveries: the read, then two claims, each after 300 ms idle.
    wait_for("the dead letter", 30, || async {
        dead_letters(&app)
            .await
            .iter()
            .any(|d| d["source"] == format!("stream:{stream}"))
    })
    .await;
    let letter = dead_letters(&app)
        .await
        .into_iter()
        .find(|d| d["source"] == format!("stream:{stream}"))
        .unwrap();
    let reason = letter["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("3 deliveries") && reason.contains("temporary failure"),
        "{letter}"
    );
    wait_for("the entry to be acknowledged", 10, || async {
        pending(&mut conn.clone(), &stream).await == 0
    })
    .await;
    let _: () = redis::AsyncCommands::del(&mut conn, &stream).await.unwrap();
}

async fn stale_entries_past_the_first_claim_page_are_reached_while_the_first_page_keeps_failing(
    backend: Backend,
) {
    if !redis_reachable().await {
        return;
    }
    let s = uuid::Uuid::new_v4().simple().to_string();
    let stream = format!("gaps:pages:{s}");
    let mut conn = redis_conn().await;
    let _: () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&stream)
        .arg("herald")
        .arg("0")
        .arg("MKSTREAM")
        .query_async(&mut conn)
        .await
        .unwrap();
    // So many deliveries allowed that the failing page is never dead-lettered
    // within the test: only walking the cursor reaches the good entry.
    let Some(app) = stream_app(backend, &stream, 1_000_000).await else {
        return;
    };
    fail_commits_of_fail_ids(&app).await;
    // More failing entries than one XAUTOCLAIM page (256), then a good one,
    // all read by a consumer that died before acknowledging any. One
    // transaction, so Herald's own blocked read never sees them as new.
    let mut pipe = redis::pipe();
    pipe.atomic();
    for i in 0..300 {
        pipe.xadd(
            &stream,
            "*",
            &[("event", low_stock(&format!("fail-{s}-{i}"), "u"))],
        )
        .ignore();
    }
    let good = format!("good-{s}");
    pipe.xadd(&stream, "*", &[("event", low_stock(&good, &good))])
        .ignore();
    pipe.cmd("XREADGROUP")
        .arg("GROUP")
        .arg("herald")
        .arg("crashed-consumer")
        .arg("COUNT")
        .arg(1000)
        .arg("STREAMS")
        .arg(&stream)
        .arg(">")
        .ignore();
    let _: () = pipe.query_async(&mut conn).await.unwrap();
    wait_for("the entry behind the failing page", 30, || async {
        feed_len(&app, &good).await >= 1
    })
    .await;
    assert!(pending(&mut conn, &stream).await >= 300);
    let _: () = redis::AsyncCommands::del(&mut conn, &stream).await.unwrap();
}

on_both!(
    a_stream_entry_that_keeps_failing_is_dead_lettered_after_its_deliveries_and_acknowledged,
    stale_entries_past_the_first_claim_page_are_reached_while_the_first_page_keeps_failing,
);

#[cfg(unix)]
#[actix_web::rt::test(system = "crate::test_system::TestSystem")]
async fn the_data_dir_is_owner_only_and_the_secret_and_database_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    // A data dir Herald must create itself (the test's temp dir is already 0700),
    // with the database in it and the JWT secret generated there.
    let app = spawn_app_with(Backend::Sqlite, |s| {
        s.data_dir = s.data_dir.join("fresh").join("data");
        s.database_url = None;
        s.jwt_secret = None;
    })
    .await
    .expect("sqlite app");
    // A write, so the WAL and shared-memory files exist.
    app.notify("perm-user", "hello").await;
    let data = app.data_dir.path().join("fresh").join("data");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "data dir");
    assert_eq!(mode(&data.join("jwt_secret")), 0o600, "jwt_secret");
    assert_eq!(mode(&data.join("herald.db")), 0o600, "herald.db");
    for side in ["herald.db-wal", "herald.db-shm"] {
        let p = data.join(side);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{side}");
        }
    }
    assert!(
        data.join("herald.db-wal").exists(),
        "WAL mode leaves a -wal file"
    );
}
