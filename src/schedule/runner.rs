//! The loop that sends scheduled rows when they are due. A step claims due
//! rows under a fresh lease (PostgreSQL `FOR UPDATE SKIP LOCKED`, so nodes
//! share the work) and runs each through the one producer with the row's
//! request id: if a step dies after the producer committed, the next claim
//! runs it again and the producer's guard answers with the original.

use super::{ScheduleSettings, StoredIntent};
use crate::domain::{StepDecision, StepReason};
use crate::escalation::{StepEnd, Watch};
use crate::persistence::scheduled::{self, Finish};
use crate::persistence::StoreError;
use crate::pipeline::Pipeline;
use crate::producer::{Content, ProducerError};
use chrono::{DateTime, Utc};
use entity::scheduled_sends as s;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use uuid::Uuid;

/// Longest the loop sleeps without looking: a row inserted on another node
/// goes out at most this late. Rows inserted on this node wake it at once.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest sleep, so a due row another node holds locked is not spun on.
const MIN_IDLE: Duration = Duration::from_millis(20);

pub struct ScheduleRunner {
    db: DatabaseConnection,
    pipeline: Arc<Pipeline>,
    wake: Arc<Notify>,
    lease: chrono::Duration,
    batch: u64,
}

impl ScheduleRunner {
    pub(super) fn new(
        db: DatabaseConnection,
        pipeline: Arc<Pipeline>,
        wake: Arc<Notify>,
        settings: &ScheduleSettings,
    ) -> Self {
        Self {
            db,
            pipeline,
            wake,
            // At least a second: a zero lease would let every step take over every row.
            lease: chrono::Duration::seconds(
                i64::try_from(settings.lease_secs.max(1)).unwrap_or(30),
            ),
            batch: settings.batch.max(1),
        }
    }

    /// Claims the rows due by `now` and sends them; returns how many were claimed.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let (token, rows) = scheduled::claim(&self.db, now, self.lease, self.batch).await?;
        let n = rows.len();
        futures_util::future::join_all(rows.into_iter().map(|row| self.run_one(token, row))).await;
        Ok(n)
    }

    #[tracing::instrument(skip_all, fields(scheduled = %row.id))]
    async fn run_one(&self, token: Uuid, row: s::Model) {
        let (finish, step) = match self.send(&row).await {
            Ok((notification_id, step)) => (Finish::Sent { notification_id }, step),
            Err(SendError::Skipped(reason, watch)) => (
                Finish::Skipped {
                    reason: format!("cancelled: {}", reason.as_str()),
                },
                Some((watch, StepEnd::Cancelled(reason))),
            ),
            // The database is down: the lease runs out and a later step retries.
            Err(SendError::Store(e)) => {
                tracing::warn!(error = %e, "scheduled send failed; it is retried when its lease ends");
                return;
            }
            Err(SendError::Refused(error)) => {
                tracing::warn!(%error, "scheduled send cannot be sent");
                (Finish::Failed { error }, None)
            }
        };
        match scheduled::finish(&self.db, row.id, token, finish).await {
            Ok(true) => {
                if let Some((watch, end)) = step {
                    if let Err(e) = crate::escalation::record(&self.db, &watch, &end).await {
                        tracing::warn!(error = %e, "could not add an escalation step to its event's audit");
                    }
                }
            }
            Ok(false) => tracing::info!("scheduled send was taken over by another step"),
            Err(e) => tracing::warn!(error = %e, "could not record a scheduled send's end"),
        }
    }

    async fn send(&self, row: &s::Model) -> Result<Sent, SendError> {
        let stored: StoredIntent = serde_json::from_str(&row.intent)
            .map_err(|e| SendError::Refused(format!("stored intent does not parse: {e}")))?;
        let watch = stored.watch().cloned();
        let (intent, extras) = stored
            .into_intent()
            .map_err(|e| SendError::Refused(format!("stored intent is invalid: {e}")))?;
        if matches!(intent.content, Content::Template { .. }) {
            self.pipeline.catalog().check_before_event().await;
        }
        if let Some(w) = &watch {
            let decision = crate::escalation::decide(&self.db, &intent.user, w)
                .await
                .map_err(SendError::Store)?;
            if let StepDecision::Cancel(reason) = decision {
                return Err(SendError::Skipped(reason, w.clone()));
            }
        }
        match self.pipeline.producer().send_with(intent, extras).await {
            Ok(outcome) => {
                let id = outcome.notification_id;
                let step = watch.map(|w| {
                    (
                        w,
                        StepEnd::Ran {
                            notification_id: id,
                        },
                    )
                });
                Ok((id, step))
            }
            Err(ProducerError::Store(e)) => Err(SendError::Store(e)),
            Err(other) => Err(SendError::Refused(other.to_string())),
        }
    }

    /// How long to sleep: until the soonest pending row, at most [`POLL_INTERVAL`].
    async fn idle_for(&self) -> Duration {
        match scheduled::next_due(&self.db).await {
            Ok(Some(due)) => (due - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .clamp(MIN_IDLE, POLL_INTERVAL),
            _ => POLL_INTERVAL,
        }
    }

    /// Steps until `shutdown` turns true. A full batch is followed at once by another.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let full = match self.step(Utc::now()).await {
                Ok(n) => n as u64 >= self.batch,
                Err(e) => {
                    tracing::warn!(error = %e, "schedule step failed");
                    false
                }
            };
            if *shutdown.borrow() {
                return;
            }
            if full {
                continue;
            }
            let idle = self.idle_for().await;
            tokio::select! {
                _ = tokio::time::sleep(idle) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

/// What a send produced, and the escalation step it finished if it was one.
type Sent = (Option<Uuid>, Option<(Watch, StepEnd)>);

enum SendError {
    Store(StoreError),
    Refused(String),
    /// An escalation step whose notification was handled: not an error, but
    /// nothing is sent, so it leaves by the same early return.
    Skipped(StepReason, Watch),
}
