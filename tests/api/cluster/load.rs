//! Steady `/send` load for the outage tests: one send to each user per round,
//! round robin over the nodes it is given, until told to stop. Each send has a
//! request id and is retried until accepted, so the count per user is exact.

use super::parts::send_retrying;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Pause between rounds: steady load, without starving the nodes of CPU.
const ROUND_PAUSE: Duration = Duration::from_millis(50);

#[derive(Clone)]
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<Mutex<Vec<i64>>>,
    users: Arc<Vec<String>>,
}

impl Load {
    pub fn new(users: Vec<String>) -> Self {
        Self {
            stop: Arc::new(AtomicBool::new(false)),
            sent: Arc::new(Mutex::new(vec![0; users.len()])),
            users: Arc::new(users),
        }
    }

    /// Notifications accepted so far, per user.
    pub fn sent(&self) -> Vec<i64> {
        self.sent.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Starts sending through `bases` in turn; stops after the round in progress when `stop` is called.
    pub fn start(&self, bases: Vec<String>) -> tokio::task::JoinHandle<()> {
        let load = self.clone();
        tokio::spawn(async move { load.run(bases).await })
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    async fn run(&self, bases: Vec<String>) {
        let client = reqwest::Client::new();
        let mut round = 0usize;
        while !self.stop.load(Ordering::SeqCst) {
            let sends = self.users.iter().enumerate().map(|(u, user)| {
                let base = bases[(round + u) % bases.len()].clone();
                let body = json!({"user_id": user, "title": format!("round {round}"), "body": "load", "channels": ["in_app"],
                                  "request_id": format!("{user}-{round}")});
                let client = client.clone();
                async move { send_retrying(&client, &base, &body).await }
            });
            futures_util::future::join_all(sends).await;
            if let Ok(mut s) = self.sent.lock() {
                s.iter_mut().for_each(|n| *n += 1);
            }
            round += 1;
            tokio::time::sleep(ROUND_PAUSE).await;
        }
    }
}
