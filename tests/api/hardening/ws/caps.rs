//! How many sockets one user, or one client address, may hold open.

use super::{app_with, try_ws, Upgrade};
use crate::helpers::{next_of_type, Backend, Ws};
use crate::on_both;

async fn open(app: &crate::helpers::TestApp, token: &str) -> Ws {
    match try_ws(app, token).await {
        Upgrade::Open(mut ws) => {
            next_of_type(&mut ws, "hello").await;
            *ws
        }
        Upgrade::Refused(status, body) => panic!("refused with {status}: {body}"),
    }
}

/// Retries the upgrade every 100 ms until it is accepted (the session's
/// actor releases its slot when it stops, a moment after the close), for at most 10 s.
async fn reopens(app: &crate::helpers::TestApp, token: &str) -> Ws {
    for _ in 0..100 {
        if let Upgrade::Open(ws) = try_ws(app, token).await {
            return *ws;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the closed socket's slot never came back");
}

async fn an_upgrade_beyond_the_users_session_cap_is_refused_with_429_until_one_closes(
    backend: Backend,
) {
    let Some(app) = app_with(backend, |s| s.ws.max_sessions_per_user = 2).await else {
        return;
    };
    let token = app.token("tabby").await;
    let mut first = open(&app, &token).await;
    let _second = open(&app, &token).await;
    match try_ws(&app, &token).await {
        Upgrade::Refused(status, body) => {
            assert_eq!(status, 429);
            assert_eq!(body["error"]["code"], "too_many_sessions", "{body}");
        }
        Upgrade::Open(_) => panic!("a third session was accepted over a cap of 2"),
    }
    // The cap is per user: someone else still gets in.
    let other = app.token("someone-else").await;
    let _other = open(&app, &other).await;
    first.close(None).await.expect("close");
    let _third = reopens(&app, &token).await;
}

async fn an_upgrade_beyond_the_per_address_cap_is_refused_with_429_until_one_closes(
    backend: Backend,
) {
    let Some(app) = app_with(backend, |s| s.ws.max_connections_per_ip = 2).await else {
        return;
    };
    // Different users, one address (every test client is 127.0.0.1).
    let (a, b, c) = (
        app.token("ip-a").await,
        app.token("ip-b").await,
        app.token("ip-c").await,
    );
    let mut first = open(&app, &a).await;
    let _second = open(&app, &b).await;
    match try_ws(&app, &c).await {
        Upgrade::Refused(status, body) => {
            assert_eq!(status, 429);
            assert_eq!(body["error"]["code"], "too_many_connections", "{body}");
        }
        Upgrade::Open(_) => panic!("a third connection was accepted over a cap of 2"),
    }
    first.close(None).await.expect("close");
    let _third = reopens(&app, &c).await;
}

async fn a_socket_dropped_without_a_close_frame_gives_its_slot_back(backend: Backend) {
    let Some(app) = app_with(backend, |s| s.ws.max_sessions_per_user = 1).await else {
        return;
    };
    let token = app.token("vanisher").await;
    let ws = open(&app, &token).await;
    assert!(matches!(
        try_ws(&app, &token).await,
        Upgrade::Refused(429, _)
    ));
    // The TCP connection just goes away, as when a laptop lid shuts.
    drop(ws);
    let _back = reopens(&app, &token).await;
}

on_both!(
    an_upgrade_beyond_the_users_session_cap_is_refused_with_429_until_one_closes,
    an_upgrade_beyond_the_per_address_cap_is_refused_with_429_until_one_closes,
    a_socket_dropped_without_a_close_frame_gives_its_slot_back,
);
