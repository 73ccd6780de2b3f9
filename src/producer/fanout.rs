//! A topic fan-out batch: every subscriber in it planned (their own
//! preferences, contacts and quiet hours), then all of them committed in ONE
//! transaction, each unit guarded by its subscriber's `(user, request_id)`.
//! A batch committed before a crash and run again writes nothing twice.

use super::{Committed, InAppExtras, Intent, Producer, ProducerError};
use crate::persistence::writer::{Guard, RequestGuard, Unit};
use crate::persistence::StoreError;
use futures_util::future::try_join_all;

/// What one subscriber of a batch came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reached {
    /// A notification or a delivery was written.
    Notified,
    /// Their preferences (or missing contacts) left nothing to send.
    Suppressed,
    /// Their guard was already written: an earlier run of this batch committed it.
    Duplicate,
}

impl Producer {
    /// Plans and commits one fan-out batch. Every intent must carry its
    /// subscriber's guard key as `request_id`. One result per intent, in order.
    #[tracing::instrument(skip_all, fields(size = intents.len()))]
    pub async fn send_batch(
        &self,
        intents: Vec<Intent>,
        extras: &InAppExtras,
    ) -> Result<Vec<Reached>, ProducerError> {
        // Planned concurrently, so the recipient loader reads the batch's users
        // and preferences with a few `IN (…)` queries instead of one per subscriber.
        let planned = try_join_all(intents.iter().map(|i| self.plan(i))).await?;
        let mut produced = Vec::with_capacity(intents.len());
        let mut units = Vec::with_capacity(intents.len());
        for (intent, mut plan) in intents.into_iter().zip(planned) {
            extras.apply(&mut plan);
            produced.push(plan.notification.is_some() || !plan.deliveries.is_empty());
            let request_id = intent.request_id.ok_or_else(|| {
                StoreError::Corrupt("a fan-out intent carries no guard key".into())
            })?;
            units.push(Unit {
                guard: Some(Guard::Request(RequestGuard {
                    user: intent.user,
                    request_id,
                    outcomes: plan.outcomes,
                })),
                notifications: plan.notification.into_iter().collect(),
                deliveries: plan.deliveries,
                ..Unit::default()
            });
        }
        let committed = self.commit_many(units).await?;
        Ok(committed
            .iter()
            .zip(produced)
            .map(|(c, produced)| match (c, produced) {
                (Committed::Duplicate, _) => Reached::Duplicate,
                (Committed::Written { .. }, true) => Reached::Notified,
                (Committed::Written { .. }, false) => {
                    self.stats().suppressed();
                    Reached::Suppressed
                }
            })
            .collect())
    }
}
