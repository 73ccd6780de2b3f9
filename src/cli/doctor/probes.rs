//! The network half of `herald doctor`: one bounded try at each configured
//! service, run side by side. A refused or silent service is a `FAIL` line
//! naming the setting to fix, never an error that stops the report.

use super::{host_port, Check, Status};
use crate::cli::client::root_cause;
use crate::config::Settings;
use crate::persistence::files;
use futures_util::future::{join_all, BoxFuture};
use futures_util::FutureExt;
use migration::MigratorTrait;
use sea_orm::{ConnectOptions, Database};
use secrecy::ExposeSecret;
use std::time::Duration;

/// Every check for what `settings` configures, in a fixed order.
pub async fn all(s: &Settings, timeout: Duration) -> Vec<Check> {
    let mut checks: Vec<BoxFuture<'_, Check>> = vec![database(s.database_url(), timeout).boxed()];
    match &s.redis_url {
        Some(url) => checks.push(redis(url.expose_secret().to_string(), timeout).boxed()),
        None => checks.push(skipped("Redis", "HERALD_REDIS_URL")),
    }
    match &s.amqp_url {
        Some(url) => checks.push(rabbitmq(url.expose_secret().to_string(), timeout).boxed()),
        None => checks.push(skipped("RabbitMQ", "HERALD_AMQP_URL")),
    }
    match &s.smtp_url {
        Some(url) => checks.push(smtp("SMTP", url.expose_secret().to_string(), timeout).boxed()),
        None => checks.push(
            async {
                Check::new(
                    Status::Ok,
                    "email",
                    "no SMTP relay (HERALD_SMTP_URL unset): emails are written as .eml files to data_dir/outbox",
                )
            }
            .boxed(),
        ),
    }
    if let Some(url) = &s.smtp_fallback_url {
        let url = url.expose_secret().to_string();
        checks.push(smtp("SMTP fallback", url, timeout).boxed());
    }
    let apns = if s.apns_sandbox {
        "https://api.sandbox.push.apple.com"
    } else {
        "https://api.push.apple.com"
    };
    let providers = [
        (
            "SMS (Twilio)",
            s.twilio_account_sid.is_some(),
            "HERALD_TWILIO_ACCOUNT_SID",
            s.twilio_base_url.as_str(),
        ),
        (
            "push (FCM)",
            s.fcm_service_account_json.is_some(),
            "HERALD_FCM_SERVICE_ACCOUNT_JSON",
            s.fcm_base_url.as_str(),
        ),
        (
            "push (APNs)",
            s.apns_key_pem.is_some() || s.apns_cert_pem.is_some(),
            "HERALD_APNS_KEY_PEM",
            apns,
        ),
        (
            "Slack bot",
            s.slack_bot_token.is_some(),
            "HERALD_SLACK_BOT_TOKEN",
            s.slack_api_base_url.as_str(),
        ),
    ];
    for (name, configured, setting, base) in providers {
        if configured {
            checks.push(http(name, base.to_string(), timeout).boxed());
        } else {
            checks.push(skipped(name, setting));
        }
    }
    join_all(checks).await
}

fn skipped(what: &'static str, setting: &'static str) -> BoxFuture<'static, Check> {
    async move {
        Check::new(
            Status::Skip,
            what,
            format!("not configured ({setting} unset)"),
        )
    }
    .boxed()
}

/// `Err` for a timeout, worded like the other failures.
async fn bounded<T, E: std::error::Error + 'static>(
    timeout: Duration,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(root_cause(&e)),
        Err(_) => Err(format!("no answer within {} s", timeout.as_secs())),
    }
}

async fn database(url: String, timeout: Duration) -> Check {
    let sqlite = files::sqlite_path(&url);
    let (what, hint, url) = match &sqlite {
        Some(path) => {
            if !path.exists() {
                return Check::new(
                    Status::Warn,
                    format!("SQLite at {}", path.display()),
                    "the file does not exist yet; `herald migrate` or `herald serve` creates it",
                );
            }
            // Read-only: the doctor changes nothing.
            let sep = if url.contains('?') { '&' } else { '?' };
            let ro = if url.contains("mode=") {
                url.clone()
            } else {
                format!("{url}{sep}mode=ro")
            };
            (
                format!("SQLite at {}", path.display()),
                "check HERALD_DATABASE_URL and the file's permissions",
                ro,
            )
        }
        None => (
            format!("PostgreSQL at {}", host_port(&url)),
            "is it running? set HERALD_DATABASE_URL",
            url,
        ),
    };
    let mut opts = ConnectOptions::new(url);
    opts.sqlx_logging(false)
        .max_connections(1)
        .connect_timeout(timeout)
        .acquire_timeout(timeout);
    let db = match bounded(timeout, Database::connect(opts)).await {
        Ok(db) => db,
        Err(e) => return Check::new(Status::Fail, what, format!("{e} — {hint}")),
    };
    let pending = tokio::time::timeout(timeout, crate::cli::progress::pending_in(&db)).await;
    let _ = db.close().await;
    let all = migration::Migrator::migrations().len();
    match pending.map(|p| p.len()) {
        Ok(0) => Check::new(
            Status::Ok,
            what,
            format!("reachable, all {all} migrations applied"),
        ),
        Ok(n) => Check::new(
            Status::Warn,
            what,
            format!("reachable, {n} migration(s) pending; run `herald migrate`"),
        ),
        Err(_) => Check::new(
            Status::Fail,
            what,
            format!("connected, but no answer within {} s", timeout.as_secs()),
        ),
    }
}

async fn redis(url: String, timeout: Duration) -> Check {
    let what = format!("Redis at {}", host_port(&url));
    let client = match redis::Client::open(url.as_str()) {
        Ok(c) => c,
        Err(e) => {
            return Check::new(
                Status::Fail,
                what,
                format!("invalid HERALD_REDIS_URL: {}", root_cause(&e)),
            )
        }
    };
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    match bounded(timeout, ping).await {
        Ok(pong) => Check::new(Status::Ok, what, format!("answered {pong}")),
        Err(e) => Check::new(
            Status::Fail,
            what,
            format!("{e} — is it running? set HERALD_REDIS_URL"),
        ),
    }
}

async fn rabbitmq(url: String, timeout: Duration) -> Check {
    let what = format!("RabbitMQ at {}", host_port(&url));
    let connect = lapin::Connection::connect(&url, lapin::ConnectionProperties::default());
    match bounded(timeout, connect).await {
        Ok(conn) => {
            let _ = conn.close(200, "herald doctor".into()).await;
            Check::new(Status::Ok, what, "connected")
        }
        Err(e) => Check::new(
            Status::Fail,
            what,
            format!("{e} — is it running? set HERALD_AMQP_URL"),
        ),
    }
}

async fn smtp(name: &str, url: String, timeout: Duration) -> Check {
    let what = format!("{name} at {}", host_port(&url));
    let transport = match crate::channels::email::smtp_transport(&url) {
        Ok(t) => t,
        Err(e) => return Check::new(Status::Fail, what, e),
    };
    match bounded(timeout, transport.test_connection()).await {
        Ok(true) => Check::new(Status::Ok, what, "the relay answered"),
        Ok(false) => Check::new(Status::Fail, what, "the relay did not accept a session"),
        Err(e) => Check::new(
            Status::Fail,
            what,
            format!("{e} — is it running? check HERALD_SMTP_URL"),
        ),
    }
}

/// Any HTTP answer means the base URL is reachable; credentials are not tried.
async fn http(name: &str, base: String, timeout: Duration) -> Check {
    let what = format!("{name} at {}", host_port(&base));
    let client = match reqwest::Client::builder().timeout(timeout).build() {
        Ok(c) => c,
        Err(e) => return Check::new(Status::Fail, what, root_cause(&e)),
    };
    match bounded(timeout, client.get(&base).send()).await {
        Ok(res) => Check::new(
            Status::Ok,
            what,
            format!("reachable (HTTP {})", res.status().as_u16()),
        ),
        Err(e) => Check::new(
            Status::Fail,
            what,
            format!("{e} — check its base URL setting"),
        ),
    }
}
