//! `/send`: the producer entered after rule matching, with `(user, request_id)`
//! as its dedupe guard on every channel.

use super::{Committed, Intent, Producer, ProducerError};
use crate::domain::{Actions, Channel, ChannelOutcome, NotificationView, Tags, UserId};
use crate::persistence::send_requests::{self, Original};
use crate::persistence::writer::{Guard, RequestGuard, Unit};
use crate::persistence::{notifications, StoreError};
use std::collections::BTreeMap;

/// The answer to a send; a repeat of a request id gets the original's.
#[derive(Debug, Clone)]
pub struct SendOutcome {
    pub notification: Option<NotificationView>,
    /// The original notification id even when the user has since deleted it.
    pub notification_id: Option<uuid::Uuid>,
    pub duplicate: bool,
    pub outcomes: BTreeMap<Channel, ChannelOutcome>,
}

/// What only the in-app notification carries; ignored when there is none.
/// Empty lists keep what the template's `in_app.tags` / `in_app.actions` rendered.
#[derive(Clone, Debug, Default)]
pub struct InAppExtras {
    pub tags: Tags,
    pub actions: Actions,
}

impl Producer {
    pub async fn send(&self, intent: Intent) -> Result<SendOutcome, ProducerError> {
        self.send_with(intent, InAppExtras::default()).await
    }

    /// Plans and commits one send. With a request id the whole send happens
    /// at most once per user, whatever its channels; a repeat (concurrent or
    /// later, on any node) gets the original notification and outcomes.
    #[tracing::instrument(skip_all, fields(user = %intent.user, request_id = ?intent.request_id))]
    pub async fn send_with(
        &self,
        intent: Intent,
        extras: InAppExtras,
    ) -> Result<SendOutcome, ProducerError> {
        if let Some(rid) = &intent.request_id {
            if let Some(original) = send_requests::find(self.db(), &intent.user, rid).await? {
                self.stats().duplicate();
                return self.replay(&intent.user, original).await;
            }
        }
        let mut planned = self.plan(&intent).await?;
        // The request's own tags and actions replace a template's, as its title does.
        if let Some(n) = planned.notification.as_mut() {
            if !extras.tags.is_empty() {
                n.tags = extras.tags;
            }
            if !extras.actions.is_empty() {
                n.actions = extras.actions;
            }
        }
        let produced = planned.notification.is_some() || !planned.deliveries.is_empty();
        if !produced && intent.request_id.is_none() {
            self.stats().suppressed();
            return Ok(SendOutcome {
                notification: None,
                notification_id: None,
                duplicate: false,
                outcomes: planned.outcomes,
            });
        }
        let guard = intent.request_id.clone().map(|request_id| {
            Guard::Request(RequestGuard {
                user: intent.user.clone(),
                request_id,
                outcomes: planned.outcomes.clone(),
            })
        });
        let unit = Unit {
            guard,
            notifications: planned.notification.into_iter().collect(),
            deliveries: planned.deliveries,
            ..Unit::default()
        };
        match self.commit(unit).await? {
            Committed::Duplicate => {
                // Another request with this id committed first, in this batch or on another node.
                let rid = intent.request_id.as_deref().unwrap_or_default();
                let original = send_requests::find(self.db(), &intent.user, rid)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Corrupt("a duplicate send left no guard row".into())
                    })?;
                self.replay(&intent.user, original).await
            }
            Committed::Written { notifications, .. } => {
                if !produced {
                    self.stats().suppressed();
                }
                let notification = notifications.into_iter().next().map(|i| i.view);
                Ok(SendOutcome {
                    notification_id: notification.as_ref().map(|n| n.id),
                    notification,
                    duplicate: false,
                    outcomes: planned.outcomes,
                })
            }
        }
    }

    async fn replay(
        &self,
        user: &UserId,
        original: Original,
    ) -> Result<SendOutcome, ProducerError> {
        let notification = match original.notification_id {
            Some(id) => notifications::get(self.db(), user, id).await?,
            None => None,
        };
        Ok(SendOutcome {
            notification,
            notification_id: original.notification_id,
            duplicate: true,
            outcomes: original.outcomes,
        })
    }
}
