//! Typed helpers: `spawn_app` starts the real server on port 0 with a fresh
//! database (a temp SQLite file, or a uniquely named PostgreSQL database).

use futures_util::{SinkExt, StreamExt};
use herald::config::Settings;
use herald::startup::{Application, ChannelHandles, Extensions};
use secrecy::SecretString;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL connections per test node: parallel tests share the server's 100.
pub const TEST_PG_POOL: u32 = 10;

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub admin_key: String,
    pub client: reqwest::Client,
    #[allow(dead_code)]
    pub backend: Backend,
    pub data_dir: tempfile::TempDir,
    pub database_url: String,
    pg_database: Option<String>,
    #[allow(dead_code)]
    pub channels: ChannelHandles,
}

fn require_services() -> bool {
    std::env::var("HERALD_REQUIRE_SERVICES").is_ok_and(|v| v == "1" || v == "true")
}

pub fn postgres_admin_url() -> String {
    std::env::var("HERALD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Creates a fresh PostgreSQL database, or says loudly why it cannot: (name, url).
pub async fn create_pg_database() -> Option<(String, String)> {
    let admin = format!("{}/postgres", postgres_admin_url());
    let mut opts = sea_orm::ConnectOptions::new(admin);
    opts.connect_timeout(Duration::from_secs(3))
        .sqlx_logging(false)
        .max_connections(1);
    let conn = match sea_orm::Database::connect(opts).await {
        Ok(c) => c,
        Err(e) => {
            if require_services() {
                panic!("HERALD_REQUIRE_SERVICES=1 but PostgreSQL is unreachable: {e}");
            }
            eprintln!("\n!!! SKIPPED on PostgreSQL: cannot reach {}: {e}\n!!! Set HERALD_TEST_POSTGRES_URL or start PostgreSQL; CI sets HERALD_REQUIRE_SERVICES=1.\n", postgres_admin_url());
            return None;
        }
    };
    let name = format!("herald_test_{}", uuid::Uuid::new_v4().simple());
    use sea_orm::ConnectionTrait;
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("CREATE DATABASE");
    let _ = conn.close().await;
    Some((name.clone(), format!("{}/{name}", postgres_admin_url())))
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(name) = self.pg_database.take() {
            drop_pg_database(name);
        }
    }
}

/// Drops a test database made by `create_pg_database`. Best effort, on its own
/// thread with its own runtime, because `Drop` cannot await.
pub fn drop_pg_database(name: String) {
    let url = format!("{}/postgres", postgres_admin_url());
    let _ = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        if let Ok(rt) = rt {
            rt.block_on(async move {
                if let Ok(c) = sea_orm::Database::connect(url).await {
                    use sea_orm::ConnectionTrait;
                    let _ = c
                        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        }
    })
    .join();
}

/// Settings every test starts from; `tweak` adjusts them.
pub async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    spawn_app_extended(backend, tweak, Extensions::default()).await
}

/// Like `spawn_app_with`, with extra parts (test-only providers).
pub async fn spawn_app_extended(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
    extensions: Extensions,
) -> Option<TestApp> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if std::env::var("HERALD_TEST_LOG").is_ok() {
        herald::telemetry::init("info,herald=debug", herald::config::LogFormat::Pretty);
    }
    let data_dir = tempfile::tempdir().expect("tempdir");
    let (pg_database, database_url) = match backend {
        Backend::Sqlite => (
            None,
            format!("sqlite://{}/herald.db", data_dir.path().display()),
        ),
        Backend::Postgres => {
            let (name, url) = create_pg_database().await?;
            (Some(name), url)
        }
    };
    let admin_key = format!("test-admin-{}", uuid::Uuid::new_v4());
    let mut settings = Settings::defaults().expect("default settings");
    settings.bind = "127.0.0.1:0".into();
    settings.data_dir = data_dir.path().to_path_buf();
    settings.database_url = Some(SecretString::from(database_url.clone()));
    settings.admin_api_key = Some(SecretString::from(admin_key.clone()));
    settings.jwt_secret = Some(SecretString::from(format!(
        "test-secret-{}",
        uuid::Uuid::new_v4()
    )));
    settings.first_run_banner = false;
    // Tests run side by side, some with three nodes, on one PostgreSQL server.
    settings.database_max_connections = TEST_PG_POOL;
    settings.http.workers = Some(2);
    settings.static_dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static");
    tweak(&mut settings);
    let app = Application::build_with(settings, extensions)
        .await
        .expect("application builds");
    let port = app.port();
    let channels = app.channels();
    actix_web::rt::spawn(app.run_until_stopped());
    Some(TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        admin_key,
        client: reqwest::Client::new(),
        backend,
        data_dir,
        database_url,
        pg_database,
        channels,
    })
}

pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

/// Runs one test body on SQLite and on PostgreSQL, as two tests whose names read as sentences.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::rt::test(system = "crate::test_system::TestSystem")]
            async fn on_sqlite() {
                let app = $crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await.expect("sqlite app");
                super::$name(app).await;
            }
            #[actix_web::rt::test(system = "crate::test_system::TestSystem")]
            async fn on_postgres() {
                if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    )*};
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The `/ready` document.
    pub async fn ready(&self) -> Value {
        self.client
            .get(self.url("/ready"))
            .send()
            .await
            .expect("GET /ready")
            .json()
            .await
            .expect("/ready is JSON")
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(&self.admin_key)
    }

    pub fn as_user(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    pub async fn send(&self, body: Value) -> reqwest::Response {
        self.admin(reqwest::Method::POST, "/api/v1/send")
            .json(&body)
            .send()
            .await
            .expect("send request")
    }

    /// Sends `user` an in-app notification and returns the 202 body.
    pub async fn notify(&self, user: &str, title: &str) -> Value {
        let res = self
            .send(json!({"user_id": user, "title": title, "body": "body"}))
            .await;
        assert_eq!(res.status(), 202, "send failed");
        res.json().await.expect("send json")
    }

    pub async fn token(&self, user: &str) -> String {
        let res = self
            .admin(
                reqwest::Method::POST,
                &format!("/api/v1/users/{user}/token"),
            )
            .send()
            .await
            .expect("token");
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("token json");
        body["token"].as_str().expect("token string").to_string()
    }

    pub async fn get_json(&self, token: &str, path: &str) -> (u16, Value) {
        let res = self
            .as_user(token, reqwest::Method::GET, path)
            .send()
            .await
            .expect("get");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .as_user(token, reqwest::Method::POST, path)
            .json(&body)
            .send()
            .await
            .expect("post");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub fn ws_url(&self, token: &str, since: Option<i64>) -> String {
        let mut url = format!("ws://127.0.0.1:{}/api/v1/ws?token={token}", self.port);
        if let Some(s) = since {
            url.push_str(&format!("&since={s}"));
        }
        url
    }

    /// Connects a WebSocket and returns it with its hello frame.
    pub async fn ws(&self, token: &str, since: Option<i64>) -> (Ws, Value) {
        let (mut ws, _) = tokio_tungstenite::connect_async(self.ws_url(token, since))
            .await
            .expect("ws connect");
        let hello = next_json(&mut ws).await;
        assert_eq!(hello["type"], "hello", "first frame must be hello: {hello}");
        (ws, hello)
    }
}

/// The next text frame as JSON, within 5 seconds.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("timed out waiting for a frame")
            .expect("socket ended")
            .expect("socket error");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("frame is JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Skips frames until one of `kind` arrives.
pub async fn next_of_type(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

/// Asserts nothing but control frames arrive for `wait`.
pub async fn assert_silent(ws: &mut Ws, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(msg) = tokio::time::timeout_at(deadline, ws.next()).await {
        match msg {
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected silence, got {other:?}"),
        }
    }
}

pub async fn send_frame(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string()))
        .await
        .expect("ws send");
}

/// Reads until the server closes; returns the close code, if one was sent.
pub async fn close_code(ws: &mut Ws, within: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => {
                eprintln!("socket error while waiting for close: {e}");
                return None;
            }
            Ok(None) => return None,
            Err(_) => panic!("socket did not close within {within:?}"),
        }
    }
}

#[allow(dead_code)]
pub fn code(c: CloseCode) -> u16 {
    u16::from(c)
}

/// A WebSocket that never answers anything: handshake by hand, stay idle for
/// `idle`, then read to EOF and return the close code the server sent.
/// (tungstenite would auto-answer pings, and fail writing them once the server hung up.)
pub async fn idle_raw_ws_close_code(
    port: u16,
    path_and_query: &str,
    idle: Duration,
) -> Option<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let req = format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.expect("handshake");
    tokio::time::sleep(idle).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let start = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    assert!(buf.starts_with(b"HTTP/1.1 101"), "upgrade refused");
    let mut frames = &buf[start..];
    while frames.len() >= 2 {
        let opcode = frames[0] & 0x0f;
        let (len, header) = match frames[1] & 0x7f {
            126 => (u16::from_be_bytes([frames[2], frames[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(frames[2..10].try_into().ok()?) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let payload = frames.get(header..header + len)?;
        if opcode == 0x8 {
            return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        }
        frames = &frames[header + len..];
    }
    None
}

/// Polls `check` every 100 ms until it holds, or fails the test after `secs`.
pub async fn wait_for<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Like `on_both_databases!`, for bodies that start their own app from a backend.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::rt::test(system = "crate::test_system::TestSystem")]
            async fn on_sqlite() { super::$name($crate::helpers::Backend::Sqlite).await }
            #[actix_web::rt::test(system = "crate::test_system::TestSystem")]
            async fn on_postgres() { super::$name($crate::helpers::Backend::Postgres).await }
        }
    )*};
}

/// A free loopback port: bound, read and released, for a child to bind next.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}
