//! Claims due deliveries from the outbox and hands them to channel actors.
//! It claims only what each channel can start now: one free in-flight slot
//! per row, so nothing waits in a queue while its lease runs out.

use super::inflight::InFlight;
use super::Dispatch;
use crate::domain::Channel;
use crate::persistence::deliveries::{self, ChannelFilter, Settle};
use actix::Recipient;
use chrono::Utc;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How often the outbox is polled when nothing wakes the scheduler.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Most rows claimed per channel per step.
const BATCH: usize = 200;

pub use crate::bus::DueSignal;

/// One channel: its actor and the in-flight slots it sends within.
pub struct Lane {
    pub channel: Channel,
    pub actor: Recipient<Dispatch>,
    pub slots: Arc<Semaphore>,
}

pub struct Scheduler {
    db: DatabaseConnection,
    lanes: Vec<Lane>,
    due: DueSignal,
    lease: chrono::Duration,
    inflight: InFlight,
}

impl Scheduler {
    pub fn new(
        db: DatabaseConnection,
        lanes: Vec<Lane>,
        due: DueSignal,
        lease: Duration,
        inflight: InFlight,
    ) -> Self {
        Self {
            db,
            lanes,
            due,
            inflight,
            lease: chrono::Duration::from_std(lease)
                .unwrap_or_else(|_| chrono::Duration::seconds(30)),
        }
    }

    /// Claims and dispatches what can start now; returns how many rows were
    /// claimed and whether a channel still has free slots after a full claim.
    pub async fn step(&self) -> (usize, bool) {
        let (mut claimed, mut full) = (0, false);
        for lane in &self.lanes {
            let free = lane.slots.available_permits().min(BATCH);
            if free == 0 {
                continue;
            }
            let rows = match deliveries::claim(
                &self.db,
                ChannelFilter::Only(lane.channel),
                Utc::now(),
                self.lease,
                free as u64,
            )
            .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(channel = %lane.channel, error = %e, "could not claim due deliveries");
                    continue;
                }
            };
            claimed += rows.len();
            let took_all = rows.len() == free;
            for row in rows {
                match row {
                    Ok(delivery) => match lane.slots.clone().try_acquire_owned() {
                        Ok(slot) => {
                            // Tracked from the claim on, so a drain also sees rows still in the mailbox.
                            let tracked = self.inflight.track(&delivery);
                            lane.actor.do_send(Dispatch {
                                delivery,
                                slot,
                                tracked,
                            })
                        }
                        // Cannot happen (only this loop takes slots); the lease brings it back.
                        Err(_) => {
                            tracing::warn!(delivery = %delivery.id, "no free slot for a claimed delivery")
                        }
                    },
                    Err(corrupt) => {
                        tracing::error!(delivery = %corrupt.id, reason = %corrupt.reason, "corrupt delivery row");
                        if let Err(e) = deliveries::bury_corrupt(&self.db, &corrupt).await {
                            tracing::warn!(error = %e, "could not mark a corrupt delivery dead");
                        }
                    }
                }
            }
            // Capped by BATCH with slots still free: claim again at once.
            full |= took_all && lane.slots.available_permits() > 0;
        }
        claimed += self.fail_unrouted().await;
        (claimed, full)
    }

    /// Rows for channels with no configured provider are dead, with the reason.
    async fn fail_unrouted(&self) -> usize {
        let configured: Vec<Channel> = self.lanes.iter().map(|l| l.channel).collect();
        let rows = match deliveries::claim(
            &self.db,
            ChannelFilter::Except(&configured),
            Utc::now(),
            self.lease,
            BATCH as u64,
        )
        .await
        {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "could not claim deliveries without a provider");
                return 0;
            }
        };
        let n = rows.len();
        for row in rows {
            let result = match row {
                Ok(delivery) => {
                    let outcome = Settle::Failed {
                        error: format!(
                            "no provider is configured for the {} channel",
                            delivery.channel
                        ),
                    };
                    deliveries::settle(&self.db, &delivery, &outcome, 0)
                        .await
                        .map(|_| ())
                }
                Err(corrupt) => deliveries::bury_corrupt(&self.db, &corrupt).await,
            };
            if let Err(e) = result {
                tracing::warn!(error = %e, "could not record a missing provider");
            }
        }
        n
    }

    /// Steps until `shutdown` turns true (or its sender is gone).
    pub async fn run(self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            // A channel whose slots are all busy is woken again when one frees up.
            let (_, more) = self.step().await;
            if more {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::timeout(POLL_INTERVAL, self.due.notified()) => {}
                changed = shutdown.changed() => if changed.is_err() { return },
            }
        }
        tracing::info!("scheduler stopped");
    }
}
