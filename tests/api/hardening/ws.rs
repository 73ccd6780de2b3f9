//! Hardening tests: WebSocket abuse limits. `frames` covers what one socket
//! may send (throttle, commands in flight, ack ids), `caps` how many sockets
//! a user or an address may hold, `flood` that a flooder starves no one.

mod caps;
mod flood;
mod frames;

use crate::helpers::{Backend, TestApp, Ws};
use herald::config::Settings;
use serde_json::Value;

/// Starts an app, or `None` when the backend is unavailable (PostgreSQL off, not required).
async fn app_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Option<TestApp> {
    let app = crate::helpers::spawn_app_with(backend, tweak).await;
    assert!(
        app.is_some() || backend == Backend::Postgres,
        "SQLite app failed to start"
    );
    app
}

/// The outcome of one upgrade attempt: an open socket, or the refusal's status and JSON body.
enum Upgrade {
    Open(Box<Ws>),
    Refused(u16, Value),
}

async fn try_ws(app: &TestApp, token: &str) -> Upgrade {
    use tokio_tungstenite::tungstenite::Error;
    match tokio_tungstenite::connect_async(app.ws_url(token, None)).await {
        Ok((ws, _)) => Upgrade::Open(Box::new(ws)),
        Err(Error::Http(res)) => {
            let body = res
                .body()
                .as_deref()
                .and_then(|b| serde_json::from_slice(b).ok())
                .unwrap_or(Value::Null);
            Upgrade::Refused(res.status().as_u16(), body)
        }
        Err(e) => panic!("upgrade failed without an HTTP answer: {e}"),
    }
}
