//! `herald doctor`: one line per check, exit 1 on any failure, no secrets.

use super::common::{assert_no_panic, herald};
use crate::helpers::{free_port, TestApp};
use crate::on_both_databases;
use crate::sources::{amqp_url, reachable, redis_url};
use crate::stubs::SmtpServer;

async fn doctor_with_a_wrong_rabbitmq_port_prints_a_clear_fail_line_and_exits_1(app: TestApp) {
    let port = free_port();
    let env = [
        ("HERALD_DATABASE_URL", app.database_url.clone()),
        (
            "HERALD_AMQP_URL",
            format!("amqp://guest:doctor-secret@127.0.0.1:{port}/%2f"),
        ),
    ];
    let run = herald(&["doctor", "--timeout", "3"], &env, None).await;
    assert_eq!(run.code, 1, "{}", run.both());
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL: RabbitMQ"))
        .unwrap_or_else(|| panic!("no RabbitMQ line:\n{}", run.both()));
    assert!(
        line.starts_with(&format!("FAIL: RabbitMQ at 127.0.0.1:{port}: "))
            && line.to_lowercase().contains("refused")
            && line.ends_with("is it running? set HERALD_AMQP_URL"),
        "{line}"
    );
    assert!(!run.both().contains("doctor-secret"), "{}", run.both());
    assert!(run
        .stdout
        .contains("ok    configuration: every setting parses"));
    assert_no_panic(&run);
}

async fn doctor_on_the_real_services_reports_every_check_ok(app: TestApp) {
    if !reachable("RabbitMQ", "127.0.0.1:5672").await || !reachable("Redis", "127.0.0.1:6379").await
    {
        return;
    }
    let smtp = SmtpServer::start().await;
    let env = [
        ("HERALD_DATABASE_URL", app.database_url.clone()),
        ("HERALD_AMQP_URL", amqp_url()),
        ("HERALD_REDIS_URL", redis_url()),
        (
            "HERALD_SMTP_URL",
            format!("smtp://127.0.0.1:{}?tls=none", smtp.port),
        ),
    ];
    let run = herald(&["doctor"], &env, None).await;
    assert_eq!(run.code, 0, "{}", run.both());
    for line in run.stdout.lines() {
        assert!(
            line.starts_with("ok ") || line.starts_with("skip "),
            "{line}\n{}",
            run.both()
        );
    }
    let (ours, other) = if app.database_url.starts_with("sqlite") {
        ("SQLite at", "PostgreSQL at")
    } else {
        ("PostgreSQL at", "SQLite at")
    };
    for what in [ours, "Redis at", "RabbitMQ at", "SMTP at"] {
        assert!(run.stdout.contains(what), "{what}\n{}", run.both());
    }
    assert!(!run.stdout.contains(other), "{}", run.both());
    assert!(!run.stdout.contains("guest:guest"));
}

async fn doctor_names_every_invalid_setting(app: TestApp) {
    let env = [
        ("HERALD_DATABASE_URL", app.database_url.clone()),
        ("HERALD_WS__HUB_SHARDS", "0".to_string()),
        ("HERALD_DELIVERY_CONCURRENCY", "lots".to_string()),
    ];
    let run = herald(&["doctor"], &env, None).await;
    assert_eq!(run.code, 1, "{}", run.both());
    assert!(
        run.stdout.starts_with("FAIL: configuration: "),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains("FAIL: HERALD_DELIVERY_CONCURRENCY: "),
        "{}",
        run.both()
    );
    assert!(
        run.stdout.contains("FAIL: HERALD_WS__HUB_SHARDS: "),
        "{}",
        run.both()
    );
    assert_no_panic(&run);
}

on_both_databases!(
    doctor_with_a_wrong_rabbitmq_port_prints_a_clear_fail_line_and_exits_1,
    doctor_on_the_real_services_reports_every_check_ok,
    doctor_names_every_invalid_setting,
);
