//! Real `herald` processes sharing one database: two nodes drain one outbox
//! exactly once, and a node killed with sends in flight loses nothing.

use crate::helpers::{create_pg_database, drop_pg_database, free_port, Backend};
use crate::on_both;
use crate::stubs::SmtpServer;
use futures_util::{stream, StreamExt};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) const ADMIN_KEY: &str = "processes-test-admin-key";
const CONCURRENCY: usize = 32;
/// Ends every body: the stand-in also stores a message whose sender died mid-DATA
/// (a real relay discards it), and only a complete message carries this.
const END: &str = "end-of-message";

/// One database both processes use: a SQLite file, or a fresh PostgreSQL database dropped at the end.
pub(crate) struct SharedDb {
    pub(crate) url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl SharedDb {
    pub(crate) async fn create(backend: Backend) -> Option<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        if backend == Backend::Sqlite {
            let url = format!("sqlite://{}/herald.db", dir.path().display());
            return Some(Self {
                url,
                pg_name: None,
                _dir: dir,
            });
        }
        let (name, url) = create_pg_database().await?;
        Some(Self {
            url,
            pg_name: Some(name),
            _dir: dir,
        })
    }
}

impl Drop for SharedDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        drop_pg_database(name);
    }
}

/// A running `herald serve` child; killed (SIGKILL) and reaped on drop, its log shown if the test failed.
pub(crate) struct Node {
    child: Child,
    pub(crate) base: String,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Node {
    async fn start(db: &SharedDb, smtp_port: u16, extra: &[(&str, &str)]) -> Self {
        let smtp = format!("smtp://127.0.0.1:{smtp_port}?tls=none");
        let concurrency = CONCURRENCY.to_string();
        let base = [
            ("HERALD_SMTP_URL", smtp.as_str()),
            ("HERALD_DELIVERY_CONCURRENCY", concurrency.as_str()),
        ];
        let env: Vec<(String, String)> = base
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::start_env(&db.url, &env).await
    }

    /// Starts `herald serve` on a free port with the shared admin key and JWT
    /// secret, then `env`; returns once `/health` answers.
    pub(crate) async fn start_env(db_url: &str, env: &[(String, String)]) -> Self {
        let port = free_port();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("herald.log")).expect("log file");
        let level = std::env::var("HERALD_TEST_NODE_LOG").unwrap_or_else(|_| "warn".into());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
        cmd.current_dir(dir.path())
            .env("HERALD_BIND", format!("127.0.0.1:{port}"))
            .env("HERALD_DATABASE_URL", db_url)
            .env(
                "HERALD_DATABASE_MAX_CONNECTIONS",
                crate::helpers::TEST_PG_POOL.to_string(),
            )
            .env("HERALD_DATA_DIR", dir.path())
            .env("HERALD_ADMIN_API_KEY", ADMIN_KEY)
            .env(
                "HERALD_JWT_SECRET",
                "processes-test-jwt-secret-0123456789abcdef",
            )
            .env("HERALD_FIRST_RUN_BANNER", "false")
            .env("HERALD_LOG", level)
            .env("HERALD_HTTP__WORKERS", "2")
            .env(
                "HERALD_STATIC_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/static"),
            )
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log);
        let mut node = Self {
            child: cmd.spawn().expect("spawn herald"),
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = node.child.try_wait() {
                panic!(
                    "herald exited during startup ({status}):\n{}",
                    node.log_tail()
                );
            }
            let health = client.get(format!("{}/health", node.base)).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return node;
            }
            assert!(
                Instant::now() < deadline,
                "herald not healthy in 60 s:\n{}",
                node.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asks the process to shut down gracefully (SIGTERM) and does not wait.
    pub(crate) fn sigterm(&self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: signalling our own child by its pid; it is not reaped yet, so the pid is still ours.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }

    /// Waits up to `within` for the process to exit; its status, or None if it is still running.
    pub(crate) async fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child.try_wait().ok().flatten()
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix
        let _ = self.child.wait();
    }

    pub(crate) fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("herald.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- log of herald at {} ---\n{}",
                self.base,
                self.log_tail()
            );
        }
    }
}

fn address(i: usize) -> String {
    format!("user{i:05}@example.com")
}

/// Runs `call(client, node address, i)` for each `i` in `0..n`, spread over `nodes`, 32 at a time.
async fn fan_out<F, Fut>(nodes: &[&Node], n: usize, call: F)
where
    F: Fn(reqwest::Client, String, usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let client = reqwest::Client::new();
    stream::iter(0..n)
        .map(|i| call(client.clone(), nodes[i % nodes.len()].base.clone(), i))
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
}

/// Sends `req`, trying again when the connection drops before an answer (a
/// pooled keep-alive connection the server closed) or the server answers 408
/// (it did not read the request head in time, which a loaded two-core machine
/// can cause). Only idempotent requests come here: PUTs, and sends that carry a
/// request id.
async fn retrying(req: reqwest::RequestBuilder) -> reqwest::Response {
    let mut last = None;
    for attempt_no in 0..3 {
        let Some(attempt) = req.try_clone() else {
            break;
        };
        match attempt.send().await {
            Ok(res) if res.status() == reqwest::StatusCode::REQUEST_TIMEOUT && attempt_no < 2 => {}
            Ok(res) => return res,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("request failed three times: {last:?}")
}

async fn create_user(client: reqwest::Client, base: String, i: usize) {
    let res = retrying(
        client
            .put(format!("{base}/api/v1/users/user{i:05}"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({ "email": address(i) })),
    )
    .await;
    assert!(res.status().is_success(), "PUT user {i}: {}", res.status());
}

async fn queue_email(client: reqwest::Client, base: String, i: usize) {
    let (user, body) = (format!("user{i:05}"), format!("for user {i}\n{END}"));
    let res = retrying(
        client
            .post(format!("{base}/api/v1/send"))
            .bearer_auth(ADMIN_KEY)
            .json(
                &json!({"user_id": user, "channels": ["email"], "title": "hello", "body": body,
                          "request_id": format!("mail-{i}")}),
            ),
    )
    .await;
    assert_eq!(res.status(), 202, "send to {user}");
    let v: Value = res.json().await.expect("send json");
    assert_eq!(v["channels"]["email"], "queued", "send to {user}: {v}");
}

pub(crate) fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let head = raw.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_start_matches('<').trim_end_matches('>'))
    })
}

/// Every complete message's Message-ID, by `To` address; and how many were cut off mid-DATA.
fn by_address(smtp: &SmtpServer) -> (usize, usize, HashMap<String, Vec<String>>) {
    let messages = smtp.messages.lock().expect("messages");
    let (mut complete, mut cut) = (0, 0);
    let mut map: HashMap<String, Vec<String>> = HashMap::new();
    for raw in messages.iter() {
        if !raw.contains(END) {
            cut += 1;
            continue;
        }
        complete += 1;
        let to = header(raw, "To").unwrap_or_else(|| panic!("no To in {raw}"));
        let id = header(raw, "Message-ID").unwrap_or_else(|| panic!("no Message-ID in {raw}"));
        map.entry(to.to_string()).or_default().push(id.to_string());
    }
    (complete, cut, map)
}

/// Polls every 100 ms until `done` holds; false after `secs`.
async fn poll_until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    done()
}

fn count(smtp: &SmtpServer) -> usize {
    smtp.messages.lock().expect("messages").len()
}

async fn two_herald_processes_on_one_database_drain_5000_emails_each_exactly_once(
    backend: Backend,
) {
    const N: usize = 5000;
    let Some(db) = SharedDb::create(backend).await else {
        return;
    };
    let smtp = SmtpServer::start_slow(Duration::from_millis(2)).await;
    // Both start at once on the fresh database: their migrations must not race.
    let (a, b) = tokio::join!(
        Node::start(&db, smtp.port, &[]),
        Node::start(&db, smtp.port, &[])
    );
    let started = Instant::now();
    fan_out(&[&a, &b], N, |client, base, i| async move {
        create_user(client.clone(), base.clone(), i).await;
        queue_email(client, base, i).await;
    })
    .await;
    let queued = started.elapsed();
    let drained = poll_until(180, || count(&smtp) >= N).await;
    let drain = started.elapsed();
    assert!(
        drained,
        "after 180 s the sink holds {} of {N} emails",
        count(&smtp)
    );
    tokio::time::sleep(Duration::from_secs(2)).await; // late duplicates
    println!("MEASURED ({backend:?}): two nodes queued {N} emails in {queued:.1?} and the sink held all {N} after {drain:.1?}");
    let (total, cut, map) = by_address(&smtp);
    assert_eq!(cut, 0, "messages cut off mid-DATA without any kill");
    let ids: HashSet<&String> = map.values().flatten().collect();
    let twice: Vec<_> = map.iter().filter(|(_, v)| v.len() > 1).take(5).collect();
    assert_eq!(
        total,
        N,
        "{} duplicates, e.g. {twice:?}",
        total.saturating_sub(N)
    );
    assert_eq!(ids.len(), N, "distinct Message-IDs");
    assert!(twice.is_empty(), "addresses mailed twice: {twice:?}");
    assert!(
        (0..N).all(|i| map.contains_key(&address(i))),
        "every address exactly once"
    );
}

async fn a_process_killed_with_2000_emails_in_flight_loses_none_when_restarted(backend: Backend) {
    const N: usize = 2000;
    let Some(db) = SharedDb::create(backend).await else {
        return;
    };
    let smtp = SmtpServer::start_slow(Duration::from_millis(150)).await;
    let lease = [("HERALD_DELIVERY_LEASE_SECS", "3")];
    let mut first = Node::start(&db, smtp.port, &lease).await;
    fan_out(&[&first], N, create_user).await;
    fan_out(&[&first], N, queue_email).await;
    assert!(
        poll_until(60, || count(&smtp) >= 200).await,
        "only {} emails in 60 s",
        count(&smtp)
    );
    first.kill();
    let (at_kill, _, _) = by_address(&smtp);
    assert!(
        at_kill < N,
        "all {N} were sent before the kill: nothing was in flight"
    );
    // Sends the relay had already taken still land after the sender died.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (complete, cut_off, _) = by_address(&smtp);
    let landed_after = complete - at_kill;
    let _second = Node::start(&db, smtp.port, &lease).await;
    let all = poll_until(180, || by_address(&smtp).2.len() >= N).await;
    assert!(
        all,
        "after 180 s only {} of {N} addresses got an email",
        by_address(&smtp).2.len()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (total, cut, map) = by_address(&smtp);
    let duplicates = total - N;
    println!(
        "MEASURED ({backend:?}): kill -9 with {N} emails in flight: {duplicates} duplicates \
         (sent before the kill: {at_kill}; landed after it: {landed_after}, \
         plus {cut_off} cut off mid-DATA ({cut} in all, not counted); in flight at the kill: up to {CONCURRENCY})"
    );
    assert!(
        (0..N).all(|i| map.contains_key(&address(i))),
        "an address got nothing"
    );
    assert_eq!(
        map.len(),
        N,
        "unexpected addresses: {:?}",
        map.keys().take(5).collect::<Vec<_>>()
    );
    assert!(
        duplicates <= 2 * CONCURRENCY,
        "{duplicates} duplicates > 2 x {CONCURRENCY}"
    );
    for (to, ids) in &map {
        assert!(
            ids.iter().all(|id| id == &ids[0]),
            "{to} got different Message-IDs: {ids:?}"
        );
    }
    let ids: HashSet<&String> = map.values().flatten().collect();
    assert_eq!(ids.len(), N, "one Message-ID per delivery");
}

on_both!(
    two_herald_processes_on_one_database_drain_5000_emails_each_exactly_once,
    a_process_killed_with_2000_emails_in_flight_loses_none_when_restarted,
);
