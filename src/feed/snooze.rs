//! The snooze scheduler: a durable loop over the stored `snoozed_until`, so
//! a snooze survives restarts and is woken by whichever node gets to it first.

use super::Feed;
use crate::persistence::inbox::{self, Woken};
use crate::persistence::StoreError;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the scheduler looks for ended snoozes: a snooze ends at most this late.
pub const SNOOZE_POLL_INTERVAL: Duration = Duration::from_millis(500);

pub struct SnoozeScheduler {
    feed: Arc<Feed>,
}

impl SnoozeScheduler {
    pub fn new(feed: Arc<Feed>) -> Self {
        Self { feed }
    }

    /// Wakes the snoozes that ended by `now` (at most `inbox.snooze_batch`),
    /// then tells each user's sessions. Returns how many were woken.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let woken = inbox::wake_due(&self.feed.db, now, self.feed.settings.snooze_batch).await?;
        for Woken { user, view } in &woken {
            let counts = inbox::counts(&self.feed.db, user).await?;
            self.feed.unsnoozed(user, view, counts);
        }
        Ok(woken.len())
    }

    /// Steps until `shutdown` turns true. A full batch is followed at once by another.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let batch = usize::try_from(self.feed.settings.snooze_batch).unwrap_or(usize::MAX);
        crate::shutdown::step_until_stopped(
            "snooze scheduler",
            SNOOZE_POLL_INTERVAL,
            batch,
            shutdown,
            || self.step(Utc::now()),
        )
        .await
    }
}
