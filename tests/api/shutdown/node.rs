//! A real `herald serve` child process that a test can send SIGTERM to, and
//! the database it keeps across a restart.

use crate::helpers::{create_pg_database, drop_pg_database, Backend};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const ADMIN_KEY: &str = "shutdown-test-admin-key";

/// One database that outlives the nodes using it: a SQLite file, or a fresh
/// PostgreSQL database dropped at the end.
pub struct NodeDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: tempfile::TempDir,
}

impl NodeDb {
    /// `None` when PostgreSQL is unreachable (the helper has said so loudly).
    pub async fn create(backend: Backend) -> Option<Self> {
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

impl Drop for NodeDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            drop_pg_database(name);
        }
    }
}

/// A running node; killed (SIGKILL) on drop if still running, its log shown if the test failed.
pub struct Node {
    child: Child,
    pub base: String,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Node {
    /// Starts `herald serve` on a free port and waits for `/health`.
    pub async fn start(db: &NodeDb, env: &[(&str, String)]) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let dir = tempfile::tempdir().expect("tempdir");
        let log = std::fs::File::create(dir.path().join("herald.log")).expect("log file");
        let level = std::env::var("HERALD_TEST_NODE_LOG").unwrap_or_else(|_| "info".into());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
        cmd.current_dir(dir.path())
            .env("HERALD_BIND", format!("127.0.0.1:{port}"))
            .env("HERALD_DATABASE_URL", &db.url)
            .env(
                "HERALD_DATABASE_MAX_CONNECTIONS",
                crate::helpers::TEST_PG_POOL.to_string(),
            )
            .env("HERALD_DATA_DIR", dir.path())
            .env("HERALD_ADMIN_API_KEY", ADMIN_KEY)
            .env(
                "HERALD_JWT_SECRET",
                "shutdown-test-jwt-secret-0123456789abcdef",
            )
            .env("HERALD_FIRST_RUN_BANNER", "false")
            .env("HERALD_LOG", level)
            .env("HERALD_HTTP__WORKERS", "2")
            .env(
                "HERALD_STATIC_DIR",
                concat!(env!("CARGO_MANIFEST_DIR"), "/static"),
            )
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
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

    pub fn sigterm(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
        // SAFETY: kill(2) only sends a signal to our own child; it touches no memory.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM) failed");
    }

    /// Waits up to `within` for the process to exit; `None` if it is still running.
    pub async fn exited_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("herald.log")).unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn ws_url(&self, token: &str) -> String {
        format!("ws://127.0.0.1:{}/api/v1/ws?token={token}", self.port)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- log of herald at {} ---\n{}",
                self.base,
                self.log_tail()
            );
        }
    }
}

/// An admin request to `node`.
pub fn admin(node: &Node, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .request(method, format!("{}{path}", node.base))
        .bearer_auth(ADMIN_KEY)
}

/// A user token minted by `node`.
pub async fn token(node: &Node, user: &str) -> String {
    let res = admin(
        node,
        reqwest::Method::POST,
        &format!("/api/v1/users/{user}/token"),
    )
    .send()
    .await
    .expect("token request");
    assert_eq!(res.status(), 200, "token for {user}");
    let body: serde_json::Value = res.json().await.expect("token json");
    body["token"].as_str().expect("token string").to_string()
}
