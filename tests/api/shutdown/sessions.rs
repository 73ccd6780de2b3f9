//! SIGTERM on a node with open WebSockets and an email in flight: every
//! socket is closed with 4002, `/ready` answers 503 while the node drains, a
//! socket opened mid-drain is sent on at once, the send finishes, and the
//! process exits 0 within its deadline.

use super::node::{admin, token, Node, NodeDb};
use crate::helpers::{close_code, next_json, Backend, Ws};
use crate::on_both;
use crate::stubs::SmtpServer;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const DEADLINE_SECS: u64 = 10;
/// Long enough that the email is still in flight when SIGTERM arrives.
const SMTP_DELAY: Duration = Duration::from_secs(3);

async fn connect(node: &Node, token: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws_url(token))
        .await
        .expect("ws connect");
    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    ws
}

async fn email_status(node: &Node) -> Option<String> {
    let res = admin(
        node,
        Method::GET,
        "/api/v1/deliveries?user_id=carol&request_id=drain-mail",
    )
    .send()
    .await
    .ok()?;
    let v: Value = res.json().await.ok()?;
    v["items"][0]["status"].as_str().map(str::to_string)
}

async fn ready_status(node: &Node) -> Option<(u16, Value)> {
    let res = reqwest::get(format!("{}/ready", node.base)).await.ok()?;
    let status = res.status().as_u16();
    Some((status, res.json().await.ok()?))
}

async fn a_sigterm_closes_every_socket_with_4002_reports_not_ready_and_exits_0_within_the_deadline(
    backend: Backend,
) {
    let Some(db) = NodeDb::create(backend).await else {
        return;
    };
    let smtp = SmtpServer::start_slow(SMTP_DELAY).await;
    let env = [
        (
            "HERALD_SMTP_URL",
            format!("smtp://127.0.0.1:{}?tls=none", smtp.port),
        ),
        ("HERALD_SHUTDOWN_DEADLINE_SECS", DEADLINE_SECS.to_string()),
    ];
    let mut node = Node::start(&db, &env).await;
    let (status, _) = ready_status(&node).await.expect("/ready");
    assert_eq!(status, 200, "ready before the signal");

    let (alice, bob) = (token(&node, "alice").await, token(&node, "bob").await);
    let mut sockets = [
        connect(&node, &alice).await,
        connect(&node, &alice).await,
        connect(&node, &bob).await,
    ];
    let put = admin(&node, Method::PUT, "/api/v1/users/carol")
        .json(&json!({"email": "carol@example.com"}))
        .send()
        .await
        .expect("put user");
    assert!(put.status().is_success());
    let sent = admin(&node, Method::POST, "/api/v1/send")
        .json(
            &json!({"user_id": "carol", "channels": ["email"], "title": "hi", "body": "drain",
                       "request_id": "drain-mail"}),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(sent.status(), 202);
    crate::helpers::wait_for("the email to be in flight", 20, || async {
        email_status(&node).await.as_deref() == Some("sending")
    })
    .await;

    let signalled = Instant::now();
    node.sigterm();
    for (i, ws) in sockets.iter_mut().enumerate() {
        assert_eq!(
            close_code(ws, Duration::from_secs(5)).await,
            Some(4002),
            "socket {i} closed with 4002"
        );
    }
    // The email is still being accepted by the slow relay: the node is draining.
    let mut seen = None;
    let until = Instant::now() + Duration::from_secs(5);
    while seen.is_none() && Instant::now() < until {
        if let Some((503, body)) = ready_status(&node).await {
            seen = Some(body);
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let body = seen.expect("/ready answered 503 while draining");
    assert_eq!(body["status"], "draining", "{body}");
    // A socket that upgrades mid-drain is sent elsewhere before any hello.
    let (mut late, _) = tokio_tungstenite::connect_async(node.ws_url(&bob))
        .await
        .expect("the listener is still open while sends finish");
    assert_eq!(
        close_code(&mut late, Duration::from_secs(5)).await,
        Some(4002)
    );

    let status = node
        .exited_within(Duration::from_secs(DEADLINE_SECS + 2))
        .await
        .expect("herald exited after SIGTERM");
    let took = signalled.elapsed();
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        node.log_tail()
    );
    assert!(
        took <= Duration::from_secs(DEADLINE_SECS),
        "took {took:?}, over the {DEADLINE_SECS} s deadline"
    );
    println!("MEASURED ({backend:?}): SIGTERM to exit with one 3 s send in flight: {took:.2?}");
    assert_eq!(
        smtp.messages.lock().expect("messages").len(),
        1,
        "the send in flight finished during the drain"
    );
    assert!(!node.log().contains("cut short"), "{}", node.log_tail());

    // The outcome was recorded before exit: a restarted node finds it sent.
    let node = Node::start(&db, &env).await;
    assert_eq!(email_status(&node).await.as_deref(), Some("sent"));
}

on_both!(a_sigterm_closes_every_socket_with_4002_reports_not_ready_and_exits_0_within_the_deadline,);
