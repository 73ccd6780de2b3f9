//! The in-app feed service: the one path that stores notifications and
//! changes read state, then publishes finished frames on the bus. REST
//! handlers and WebSocket sessions both come through here.

use crate::bus::{Bus, BusMessage};
use crate::domain::{Channel, NewNotification, NotificationView, UserId};
use crate::persistence::writer::{NewDelivery, NotificationWriter, Unit, UnitResult};
use crate::persistence::{notifications, preferences, StoreError};
use crate::protocol::ServerFrame;
use crate::realtime::{CommandError, SessionCommands};
use crate::stats::Stats;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::collections::BTreeMap;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happened on one channel of a send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChannelStatus {
    /// Stored and pushed to the user's open sessions.
    Accepted,
    /// The user's preferences turn this channel or category off.
    Suppressed,
    /// This server has no provider for the channel yet; nothing was sent.
    Unavailable,
}

#[derive(Debug)]
pub struct SendOutcome {
    pub notification: Option<NotificationView>,
    pub duplicate: bool,
    pub channels: BTreeMap<Channel, ChannelStatus>,
}

pub struct Feed {
    db: DatabaseConnection,
    writer: NotificationWriter,
    bus: Arc<dyn Bus>,
    stats: Arc<Stats>,
}

impl Feed {
    pub fn new(
        db: DatabaseConnection,
        writer: NotificationWriter,
        bus: Arc<dyn Bus>,
        stats: Arc<Stats>,
    ) -> Self {
        Self {
            db,
            writer,
            bus,
            stats,
        }
    }

    /// Stores and fans out a notification, honouring preferences. Commit
    /// happens before publish, so a frame never announces an unstored row.
    #[tracing::instrument(skip_all, fields(user = %new.user_id, request_id = ?new.request_id))]
    pub async fn send(
        &self,
        new: NewNotification,
        channels: &[Channel],
    ) -> Result<SendOutcome, FeedError> {
        if let Some(rid) = &new.request_id {
            if let Some(existing) =
                notifications::find_by_request(&self.db, &new.user_id, rid).await?
            {
                self.stats.duplicate();
                return Ok(SendOutcome {
                    notification: Some(notifications::to_view(&existing)?),
                    duplicate: true,
                    channels: BTreeMap::from([(Channel::InApp, ChannelStatus::Accepted)]),
                });
            }
        }
        let prefs = preferences::get(&self.db, &new.user_id).await?;
        let mut statuses = BTreeMap::new();
        for ch in channels {
            let status = if !prefs.allows(*ch, &new.category) {
                ChannelStatus::Suppressed
            } else if *ch == Channel::InApp {
                ChannelStatus::Accepted
            } else {
                ChannelStatus::Unavailable
            };
            statuses.insert(*ch, status);
        }
        if statuses.get(&Channel::InApp) != Some(&ChannelStatus::Accepted) {
            self.stats.suppressed();
            return Ok(SendOutcome {
                notification: None,
                duplicate: false,
                channels: statuses,
            });
        }
        // The in-app delivery row lets a client ack, and the status API show it.
        let unit = Unit {
            notifications: vec![new.clone()],
            deliveries: vec![NewDelivery {
                user_id: new.user_id.as_str().to_string(),
                channel: "in_app".into(),
                content: serde_json::json!({}),
                template: new.template.clone(),
                rule_id: None,
                notification: Some(0),
                not_before: chrono::Utc::now(),
            }],
            event: None,
        };
        let inserted = match self
            .writer
            .write(unit)
            .await
            .inspect_err(|_| self.stats.failed())?
        {
            UnitResult::Written {
                mut notifications, ..
            } if !notifications.is_empty() => notifications.remove(0),
            _ => {
                return Err(FeedError::Store(StoreError::Corrupt(
                    "send produced no notification".into(),
                )))
            }
        };
        if inserted.created {
            self.stats.processed();
            self.publish_notification(&new.user_id, &inserted.view);
        } else {
            self.stats.duplicate();
        }
        Ok(SendOutcome {
            notification: Some(inserted.view),
            duplicate: !inserted.created,
            channels: statuses,
        })
    }

    /// The group-commit writer, for routes that commit units of their own.
    pub fn writer(&self) -> &NotificationWriter {
        &self.writer
    }

    fn publish_notification(&self, user: &UserId, view: &NotificationView) {
        self.bus.publish(BusMessage {
            user_id: user.clone(),
            seq: Some(view.seq),
            frame: ServerFrame::Notification { notification: view }.encode(),
        });
    }

    fn publish(&self, user: &UserId, frame: ServerFrame<'_>) {
        self.bus.publish(BusMessage {
            user_id: user.clone(),
            seq: None,
            frame: frame.encode(),
        });
    }

    /// Marks `ids` read; returns the ones that were the user's and the new unread count.
    pub async fn mark_read(
        &self,
        user: &UserId,
        ids: &[Uuid],
        read: bool,
    ) -> Result<(Vec<Uuid>, u64), FeedError> {
        let changed = notifications::set_read(&self.db, user, ids, read).await?;
        let unread = notifications::unread_count(&self.db, user).await?;
        if !changed.is_empty() {
            let frame = if read {
                ServerFrame::Read {
                    ids: &changed,
                    unread_count: unread,
                }
            } else {
                ServerFrame::Unread {
                    ids: &changed,
                    unread_count: unread,
                }
            };
            self.publish(user, frame);
        }
        Ok((changed, unread))
    }

    pub async fn mark_all_read(&self, user: &UserId) -> Result<u64, FeedError> {
        let n = notifications::mark_all_read(&self.db, user).await?;
        self.publish(user, ServerFrame::ReadAll { unread_count: 0 });
        Ok(n)
    }

    pub async fn delete(&self, user: &UserId, ids: &[Uuid]) -> Result<(Vec<Uuid>, u64), FeedError> {
        let deleted = notifications::delete(&self.db, user, ids).await?;
        let unread = notifications::unread_count(&self.db, user).await?;
        if !deleted.is_empty() {
            self.publish(
                user,
                ServerFrame::Deleted {
                    ids: &deleted,
                    unread_count: unread,
                },
            );
        }
        Ok((deleted, unread))
    }
}

fn command_error(e: FeedError) -> CommandError {
    tracing::error!(error = %e, "websocket command failed");
    (
        "internal_error",
        "the command could not be completed".to_string(),
    )
}

/// WebSocket sessions reach the feed through this trait.
pub struct FeedCommands(pub Arc<Feed>);

impl SessionCommands for FeedCommands {
    fn mark_read(
        &self,
        user: UserId,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'static, Result<(), CommandError>> {
        let feed = self.0.clone();
        Box::pin(async move {
            feed.mark_read(&user, &ids, true)
                .await
                .map(|_| ())
                .map_err(command_error)
        })
    }

    fn ack(&self, user: UserId, ids: Vec<Uuid>) -> BoxFuture<'static, Result<(), CommandError>> {
        let feed = self.0.clone();
        Box::pin(async move {
            crate::persistence::deliveries::mark_in_app_delivered(&feed.db, &user, &ids)
                .await
                .map(|_| ())
                .map_err(|e| command_error(FeedError::Store(e)))
        })
    }

    fn mark_all_read(&self, user: UserId) -> BoxFuture<'static, Result<(), CommandError>> {
        let feed = self.0.clone();
        Box::pin(async move {
            feed.mark_all_read(&user)
                .await
                .map(|_| ())
                .map_err(command_error)
        })
    }
}
