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
    /// Queued in the delivery outbox for its channel actor.
    Queued,
    /// Nothing to send to: the user has no email address or phone number.
    Skipped,
    /// Not reachable from `/send`: webhooks go to endpoints, which subscribe to events.
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
    due: crate::bus::DueSignal,
    bus: Arc<dyn Bus>,
    stats: Arc<Stats>,
}

impl Feed {
    pub fn new(
        db: DatabaseConnection,
        writer: NotificationWriter,
        bus: Arc<dyn Bus>,
        stats: Arc<Stats>,
        due: crate::bus::DueSignal,
    ) -> Self {
        Self {
            db,
            writer,
            due,
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
        // Contacts are needed only for email and SMS; in-app sends skip the read.
        let user = if channels
            .iter()
            .any(|c| matches!(c, Channel::Email | Channel::Sms))
        {
            crate::persistence::users::get(&self.db, &new.user_id).await?
        } else {
            None
        };
        let now = chrono::Utc::now();
        let quiet_until = prefs.quiet_until(new.priority, now);
        let mut statuses = BTreeMap::new();
        let mut deliveries = vec![];
        for ch in channels {
            let base = serde_json::json!({"category": new.category.as_str(), "priority": new.priority.as_str()});
            let (status, content) = if !prefs.allows(*ch, &new.category) {
                (ChannelStatus::Suppressed, None)
            } else {
                match ch {
                    Channel::InApp => (ChannelStatus::Accepted, None),
                    Channel::Webhook => (ChannelStatus::Unavailable, None),
                    Channel::Email => match user.as_ref().and_then(|u| u.email.clone()) {
                        Some(to) => (
                            ChannelStatus::Queued,
                            Some(
                                serde_json::json!({"to": to, "subject": new.title, "text": new.body}),
                            ),
                        ),
                        None => (ChannelStatus::Skipped, None),
                    },
                    Channel::Sms => match user.as_ref().and_then(|u| u.phone.clone()) {
                        Some(to) => (
                            ChannelStatus::Queued,
                            Some(
                                serde_json::json!({"to": to, "text": if new.body.is_empty() { &new.title } else { &new.body }}),
                            ),
                        ),
                        None => (ChannelStatus::Skipped, None),
                    },
                    Channel::Push => (
                        ChannelStatus::Queued,
                        Some(
                            serde_json::json!({"title": new.title, "body": new.body, "data": new.data}),
                        ),
                    ),
                }
            };
            if let Some(mut content) = content {
                if let (Some(c), Some(b)) = (content.as_object_mut(), base.as_object()) {
                    c.extend(b.clone());
                }
                deliveries.push(NewDelivery {
                    user_id: new.user_id.as_str().to_string(),
                    channel: ch.as_str().into(),
                    content,
                    template: new.template.clone(),
                    rule_id: None,
                    notification: None,
                    not_before: if *ch == Channel::Push
                        || *ch == Channel::Email
                        || *ch == Channel::Sms
                    {
                        quiet_until.unwrap_or(now)
                    } else {
                        now
                    },
                });
            }
            statuses.insert(*ch, status);
        }
        let in_app = statuses.get(&Channel::InApp) == Some(&ChannelStatus::Accepted);
        if !in_app && deliveries.is_empty() {
            self.stats.suppressed();
            return Ok(SendOutcome {
                notification: None,
                duplicate: false,
                channels: statuses,
            });
        }
        let queued = !deliveries.is_empty();
        if !in_app {
            self.writer
                .write(Unit {
                    deliveries,
                    ..Unit::default()
                })
                .await
                .inspect_err(|_| self.stats.failed())?;
            self.due.ring();
            return Ok(SendOutcome {
                notification: None,
                duplicate: false,
                channels: statuses,
            });
        }
        // The in-app delivery row lets a client ack, and the status API show it.
        deliveries.push(NewDelivery {
            user_id: new.user_id.as_str().to_string(),
            channel: "in_app".into(),
            content: serde_json::json!({}),
            template: new.template.clone(),
            rule_id: None,
            notification: Some(0),
            not_before: now,
        });
        let unit = Unit {
            notifications: vec![new.clone()],
            deliveries,
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
        if queued {
            self.due.ring();
        }
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
