//! Picks due deliveries from the outbox and hands them to channel actors.

use super::Dispatch;
use crate::persistence::deliveries::{self, Settle};
use actix::Recipient;
use chrono::Utc;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::time::Duration;

/// How often the outbox is polled when nothing wakes the scheduler.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How long a claimed delivery is leased to its sender before it is claimed again.
pub const LEASE: Duration = Duration::from_secs(60);
/// Deliveries claimed per step.
const BATCH: u64 = 200;

pub use crate::bus::DueSignal;

pub struct Scheduler {
    db: DatabaseConnection,
    channels: HashMap<String, Recipient<Dispatch>>,
    due: DueSignal,
    lease: Duration,
}

impl Scheduler {
    pub fn new(
        db: DatabaseConnection,
        channels: HashMap<String, Recipient<Dispatch>>,
        due: DueSignal,
        lease: Duration,
    ) -> Self {
        Self {
            db,
            channels,
            due,
            lease,
        }
    }

    /// Claims and dispatches one batch; returns how many were claimed.
    pub async fn step(&self) -> usize {
        let now = Utc::now();
        let lease_until = now
            + chrono::Duration::from_std(self.lease)
                .unwrap_or_else(|_| chrono::Duration::seconds(60));
        let claimed = match deliveries::claim_due(&self.db, now, lease_until, BATCH).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim due deliveries");
                return 0;
            }
        };
        let n = claimed.len();
        for delivery in claimed {
            match self.channels.get(&delivery.channel) {
                Some(actor) => actor.do_send(Dispatch(delivery)),
                None => {
                    let outcome = Settle::Failed {
                        error: format!(
                            "no provider is configured for the {} channel",
                            delivery.channel
                        ),
                    };
                    if let Err(e) = deliveries::settle(&self.db, &delivery, &outcome, 0).await {
                        tracing::warn!(error = %e, "could not record a missing provider");
                    }
                }
            }
        }
        n
    }

    pub async fn run(self) {
        loop {
            // A full batch means more may be due right now.
            if self.step().await as u64 >= BATCH {
                continue;
            }
            let _ = tokio::time::timeout(POLL_INTERVAL, self.due.notified()).await;
        }
    }
}
