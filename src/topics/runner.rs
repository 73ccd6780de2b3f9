//! The fan-out runner: a durable loop over unfinished fan-outs, so a topic
//! send survives restarts and is carried on by whichever node gets to it.

use super::{TopicMessage, TopicSettings, TopicsError};
use crate::domain::UserId;
use crate::persistence::topic_fanouts::{self, Fanout, Progress};
use crate::persistence::{send_requests, topics, StoreError};
use crate::producer::{Producer, ProducerError, Reached};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// How often the runner looks for fan-outs when nothing woke it: the backstop
/// for one another node started, or one whose runner died.
pub const FANOUT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Rung after a fan-out is recorded, so this node's runner starts at once.
#[derive(Clone, Default)]
pub struct FanoutWake(Arc<Notify>);

impl FanoutWake {
    pub fn ring(&self) {
        self.0.notify_one();
    }
}

pub struct FanoutRunner {
    db: DatabaseConnection,
    producer: Arc<Producer>,
    settings: TopicSettings,
    wake: FanoutWake,
}

/// What one committed batch adds to its fan-out. `reached[i]` is what
/// `batch[i]` came to; a duplicate (its guard written by an earlier run of
/// this batch) counts as that run's outcome, from `earlier`. `more` says
/// whether subscribers are left after this batch.
pub fn progress(
    batch: &[UserId],
    reached: &[Reached],
    earlier: &HashMap<String, bool>,
    more: bool,
) -> Progress {
    let mut p = Progress {
        cursor: batch.last().map(|u| u.as_str().to_string()),
        processed: batch.len() as i64,
        finished: !more,
        ..Progress::default()
    };
    for (user, r) in batch.iter().zip(reached) {
        let produced = match r {
            Reached::Notified => true,
            Reached::Suppressed => false,
            Reached::Duplicate => earlier.get(user.as_str()).copied().unwrap_or(false),
        };
        if produced {
            p.notified += 1;
        } else {
            p.suppressed += 1;
        }
    }
    p
}

impl FanoutRunner {
    pub fn new(
        db: DatabaseConnection,
        producer: Arc<Producer>,
        settings: TopicSettings,
        wake: FanoutWake,
    ) -> Self {
        Self {
            db,
            producer,
            settings,
            wake,
        }
    }

    /// Claims one fan-out that is due and writes its next batch. `None` when
    /// there was nothing to claim.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<Option<Progress>, TopicsError> {
        let lease = chrono::Duration::seconds(
            i64::try_from(self.settings.fanout_lease_secs).unwrap_or(i64::MAX / 1000),
        );
        let Some(fanout) = topic_fanouts::claim(&self.db, now, lease).await? else {
            return Ok(None);
        };
        let token = fanout
            .lease_token
            .ok_or_else(|| StoreError::Corrupt("a claimed fan-out has no lease".into()))?;
        let message = match TopicMessage::parse(&fanout.message) {
            Ok(m) => m,
            Err(e) => return self.give_up(&fanout, token, &e.to_string()).await,
        };
        let size = self.settings.fanout_batch;
        // One more than a batch: whether any are left is known without an empty last batch.
        let mut batch =
            topics::subscribers(&self.db, &fanout.topic, fanout.cursor.as_deref(), size + 1)
                .await?;
        let more = batch.len() as u64 > size;
        batch.truncate(usize::try_from(size).unwrap_or(usize::MAX));
        let key = fanout.guard_key();
        let intents = batch
            .iter()
            .map(|u| message.intent_for(u.clone(), key.clone()))
            .collect();
        let reached = match self.producer.send_batch(intents, &message.extras).await {
            Ok(r) => r,
            // The database: the lease runs out and the batch is tried again.
            Err(ProducerError::Store(e)) => return Err(e.into()),
            Err(e) => return self.give_up(&fanout, token, &e.to_string()).await,
        };
        let repeated: Vec<&str> = batch
            .iter()
            .zip(&reached)
            .filter(|(_, r)| **r == Reached::Duplicate)
            .map(|(u, _)| u.as_str())
            .collect();
        let earlier = send_requests::produced_under(&self.db, &key, &repeated).await?;
        let p = progress(&batch, &reached, &earlier, more);
        if !topic_fanouts::advance(&self.db, fanout.id, token, &p).await? {
            tracing::warn!(fanout = %fanout.id, "fan-out lease was taken over; its new holder counts this batch");
        }
        Ok(Some(p))
    }

    async fn give_up(
        &self,
        fanout: &Fanout,
        token: uuid::Uuid,
        reason: &str,
    ) -> Result<Option<Progress>, TopicsError> {
        tracing::warn!(fanout = %fanout.id, topic = %fanout.topic, reason, "topic fan-out failed");
        topic_fanouts::fail(&self.db, fanout.id, token).await?;
        Ok(Some(Progress::default()))
    }

    /// Steps until `shutdown` turns true; a step that found work is followed at once by another.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            let busy = match self.step(Utc::now()).await {
                Ok(found) => found.is_some(),
                Err(e) => {
                    tracing::warn!(error = %e, "fan-out step failed");
                    false
                }
            };
            if *shutdown.borrow() {
                return;
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(FANOUT_POLL_INTERVAL) => {}
                _ = self.wake.0.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(ids: &[&str]) -> Vec<UserId> {
        ids.iter().map(|i| UserId::parse(*i).unwrap()).collect()
    }

    #[test]
    fn a_batch_moves_the_cursor_to_its_last_subscriber_and_counts_each() {
        let batch = users(&["a", "b", "c"]);
        let reached = [Reached::Notified, Reached::Suppressed, Reached::Notified];
        let p = progress(&batch, &reached, &HashMap::new(), true);
        assert_eq!(p.cursor.as_deref(), Some("c"));
        assert_eq!((p.processed, p.notified, p.suppressed), (3, 2, 1));
        assert!(!p.finished);
    }

    #[test]
    fn a_resumed_batch_counts_its_duplicates_as_the_first_run_did() {
        let batch = users(&["a", "b"]);
        let reached = [Reached::Duplicate, Reached::Duplicate];
        let earlier = HashMap::from([("a".to_string(), true), ("b".to_string(), false)]);
        let p = progress(&batch, &reached, &earlier, false);
        assert_eq!((p.processed, p.notified, p.suppressed), (2, 1, 1));
        assert!(p.finished);
    }

    #[test]
    fn an_empty_topic_finishes_without_moving_the_cursor() {
        let p = progress(&[], &[], &HashMap::new(), false);
        assert_eq!(p.cursor, None);
        assert!(p.finished);
        assert_eq!(p.processed, 0);
    }
}
