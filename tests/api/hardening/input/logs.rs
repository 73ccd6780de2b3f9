//! A real `herald` process, its JSON log read back: a client's bad request is
//! the client's problem and is logged at info, never as a warning or an error.

use crate::helpers::{create_pg_database, drop_pg_database, Backend};
use crate::on_both;
use serde_json::Value;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ADMIN_KEY: &str = "input-logs-admin-key";

struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
    pg: Option<String>,
}

impl Server {
    async fn start(backend: Backend) -> Option<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().expect("tempdir");
        let (pg, url) = match backend {
            Backend::Sqlite => (None, format!("sqlite://{}/herald.db", dir.path().display())),
            Backend::Postgres => {
                let (name, url) = create_pg_database().await?;
                (Some(name), url)
            }
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = std::fs::File::create(dir.path().join("herald.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_herald"))
            .current_dir(dir.path())
            .env("HERALD_BIND", format!("127.0.0.1:{port}"))
            .env("HERALD_DATABASE_URL", url)
            .env("HERALD_DATA_DIR", dir.path())
            .env("HERALD_ADMIN_API_KEY", ADMIN_KEY)
            .env("HERALD_FIRST_RUN_BANNER", "false")
            .env("HERALD_LOG", "info")
            .env("HERALD_LOG_FORMAT", "json")
            .env("HERALD_HTTP__WORKERS", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("spawn herald");
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
            pg,
        };
        // Generous: a cold debug binary on a loaded machine runs migrations first.
        let deadline = Instant::now() + Duration::from_secs(90);
        let client = reqwest::Client::new();
        while Instant::now() < deadline {
            let health = client.get(format!("{}/health", server.base)).send().await;
            if health.is_ok_and(|r| r.status() == 200) {
                return Some(server);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("herald did not become healthy:\n{}", server.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("herald.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(name) = self.pg.take() {
            drop_pg_database(name);
        }
    }
}

async fn malformed_requests_are_logged_below_warning(backend: Backend) {
    let Some(server) = Server::start(backend).await else {
        return;
    };
    let client = reqwest::Client::new();
    let requests: [(&str, &str, &[u8]); 7] = [
        ("POST", "/api/v1/send", b"{not json"),
        (
            "POST",
            "/api/v1/send",
            br#"{"user_id":"u1","title":"a\u0000b"}"#,
        ),
        ("PUT", "/api/v1/users/u1", b"[1,2,3,4,5,6]"),
        (
            "POST",
            "/api/v1/events",
            br#"{"event_type":"a.b","x":"\u0000"}"#,
        ),
        ("GET", "/api/v1/events/a%00b", b""),
        ("GET", "/api/v1/rules/not-a-uuid", b""),
        ("POST", "/api/v1/import", b"[null,null]"),
    ];
    for (method, path, body) in requests {
        let res = client
            .request(
                method.parse().expect("method"),
                format!("{}{path}", server.base),
            )
            .bearer_auth(ADMIN_KEY)
            .header("content-type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{method} {path}: {status}");
    }
    // A header holding a NUL: actix-http answers 400 before any handler runs.
    let raw = format!(
        "GET /health HTTP/1.1\r\nHost: {}\r\nX-Bad: a\0b\r\n\r\n",
        &server.base[7..]
    );
    let mut stream = tokio::net::TcpStream::connect(&server.base[7..])
        .await
        .expect("connect");
    stream.write_all(raw.as_bytes()).await.expect("write");
    let mut answer = vec![0; 64];
    let n = stream.read(&mut answer).await.expect("read");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 400"));
    drop(stream);
    let unauthenticated = client
        .get(format!("{}/api/v1/templates", server.base))
        .send()
        .await
        .expect("request");
    assert_eq!(unauthenticated.status(), 401);
    // The access log line is written as the response leaves; give it a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log();
    let events: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let loud: Vec<&Value> = events
        .iter()
        .filter(|e| matches!(e["level"].as_str(), Some("WARN" | "ERROR")))
        // Parking a refused event is worth a warning of its own: an operator replays it.
        .filter(|e| e["fields"]["message"] != "dead-lettered an event")
        .collect();
    assert!(
        loud.is_empty(),
        "4xx logged as warnings or errors: {loud:#?}"
    );
    let requests_logged = events
        .iter()
        .filter(|e| e["level"] == "INFO" && e["fields"]["message"] == "request")
        .count();
    assert!(
        requests_logged >= 8,
        "each request is still logged at info:\n{log}"
    );
}

on_both!(malformed_requests_are_logged_below_warning);
