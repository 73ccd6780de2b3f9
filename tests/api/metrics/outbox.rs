//! The outbox gauges: a delivery waiting for a busy channel shows as pending
//! and due, and the breaker gauges show every channel's circuit.

use super::{app_with_smtp, scrape, send_with_email};
use crate::helpers::{wait_for, Backend};
use crate::on_both;
use crate::stubs::SmtpServer;
use std::time::Duration;

async fn a_delivery_waiting_behind_a_busy_channel_shows_in_the_outbox_gauges(backend: Backend) {
    // One email at a time, and the relay takes its time: the second waits, due.
    let smtp = SmtpServer::start_slow(Duration::from_secs(8)).await;
    let Some(app) = app_with_smtp(backend, &smtp, |s| s.delivery_concurrency = 1).await else {
        return;
    };
    for user in ["queued-a", "queued-b"] {
        send_with_email(&app, user, &["email"]).await;
    }
    let waiting = [("channel", "email"), ("status", "pending")];
    wait_for("one email sending and one pending", 15, || async {
        let s = scrape(&app).await;
        s.value("herald_outbox_depth", &waiting) == 1.0
            && s.value(
                "herald_outbox_depth",
                &[("channel", "email"), ("status", "sending")],
            ) == 1.0
            && s.value("herald_outbox_oldest_due_seconds", &[]) > 0.0
    })
    .await;
    let s = scrape(&app).await;
    assert_eq!(
        s.value("herald_circuit_state", &[("breaker", "email")]),
        0.0,
        "{}",
        s.text
    );
    assert!(s.text.contains("herald_circuit_state{breaker=\"email\"} 0"));
    assert!(!s.text.contains("queued-a"), "no user id in the scrape");
}

on_both!(a_delivery_waiting_behind_a_busy_channel_shows_in_the_outbox_gauges);
