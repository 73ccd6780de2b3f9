//! The in-app feed's inbox state: list, seen, read, archive, snooze, delete
//! and actions. Every change commits first, then publishes a finished frame
//! on the bus, so it reaches every session of the user on every node. New
//! notifications are not made here: the producer makes them.

mod actions;
mod commands;
mod snooze;

pub use actions::ActionTaken;
pub use commands::FeedCommands;
pub use snooze::{SnoozeScheduler, SNOOZE_POLL_INTERVAL};

use crate::bus::{Bus, BusMessage};
use crate::domain::{UserId, DEFAULT_MAX_SNOOZE_DAYS};
use crate::persistence::inbox::{self, Counts, Transition};
use crate::persistence::{notifications, StoreError};
use crate::protocol::ServerFrame;
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("notification not found")]
    NotFound,
    #[error("the notification has no action {0}")]
    NoSuchAction(usize),
    /// The action's event could not be ingested for now (the database is unavailable).
    #[error("the action's event could not be ingested: {0}")]
    Ingest(String),
}

/// `[inbox]` settings (`HERALD_INBOX__*`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default)]
pub struct InboxSettings {
    /// Furthest ahead a snooze may end, in days.
    pub max_snooze_days: u32,
    /// Most ended snoozes one scheduler step wakes (the rest wait for the next step).
    pub snooze_batch: u64,
}

impl Default for InboxSettings {
    fn default() -> Self {
        Self {
            max_snooze_days: DEFAULT_MAX_SNOOZE_DAYS,
            snooze_batch: 500,
        }
    }
}

pub struct Feed {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
    settings: InboxSettings,
}

impl Feed {
    pub fn new(db: DatabaseConnection, bus: Arc<dyn Bus>, settings: &InboxSettings) -> Self {
        Self {
            db,
            bus,
            settings: settings.clone(),
        }
    }

    pub fn settings(&self) -> &InboxSettings {
        &self.settings
    }

    fn publish(&self, user: &UserId, frame: ServerFrame<'_>) {
        self.bus.publish(BusMessage {
            user_id: user.clone(),
            seq: None,
            frame: frame.encode(),
        });
    }

    pub async fn counts(&self, user: &UserId) -> Result<Counts, FeedError> {
        Ok(inbox::counts(&self.db, user).await?)
    }

    /// Applies `t` to `ids`; returns the ones that were the user's and the new
    /// counts, and tells every session of the user.
    pub async fn change(
        &self,
        user: &UserId,
        ids: &[Uuid],
        t: Transition,
    ) -> Result<(Vec<Uuid>, Counts), FeedError> {
        let changed = inbox::apply(&self.db, user, ids, t).await?;
        let c = inbox::counts(&self.db, user).await?;
        if changed.is_empty() {
            return Ok((changed, c));
        }
        let ids = changed.as_slice();
        let (unread_count, unseen_count) = (c.unread, c.unseen);
        match t {
            Transition::Seen => self.publish(user, ServerFrame::Seen { ids, unseen_count }),
            Transition::Read => self.publish(
                user,
                ServerFrame::Read {
                    ids,
                    unread_count,
                    unseen_count,
                },
            ),
            Transition::Unread => self.publish(
                user,
                ServerFrame::Unread {
                    ids,
                    unread_count,
                    unseen_count,
                },
            ),
            Transition::Archive => self.publish(
                user,
                ServerFrame::Archived {
                    ids,
                    unread_count,
                    unseen_count,
                },
            ),
            Transition::Unarchive => self.publish(
                user,
                ServerFrame::Unarchived {
                    ids,
                    unread_count,
                    unseen_count,
                },
            ),
            Transition::Snooze(until) => self.publish(
                user,
                ServerFrame::Snoozed {
                    ids,
                    until,
                    unread_count,
                    unseen_count,
                },
            ),
            // Back in the list: clients get the item itself, as when a snooze ends by time.
            Transition::Unsnooze => {
                for id in ids {
                    if let Some(view) = notifications::get(&self.db, user, *id).await? {
                        self.unsnoozed(user, &view, c);
                    }
                }
            }
        }
        Ok((changed, c))
    }

    pub(crate) fn unsnoozed(
        &self,
        user: &UserId,
        view: &crate::domain::NotificationView,
        c: Counts,
    ) {
        self.publish(
            user,
            ServerFrame::Unsnoozed {
                notification: view,
                unread_count: c.unread,
                unseen_count: c.unseen,
            },
        );
    }

    pub async fn mark_all_read(&self, user: &UserId) -> Result<Counts, FeedError> {
        inbox::apply_all(&self.db, user, Transition::Read).await?;
        let c = inbox::counts(&self.db, user).await?;
        self.publish(
            user,
            ServerFrame::ReadAll {
                unread_count: c.unread,
                unseen_count: c.unseen,
            },
        );
        Ok(c)
    }

    pub async fn mark_all_seen(&self, user: &UserId) -> Result<Counts, FeedError> {
        inbox::apply_all(&self.db, user, Transition::Seen).await?;
        let c = inbox::counts(&self.db, user).await?;
        self.publish(
            user,
            ServerFrame::SeenAll {
                unseen_count: c.unseen,
            },
        );
        Ok(c)
    }

    pub async fn delete(
        &self,
        user: &UserId,
        ids: &[Uuid],
    ) -> Result<(Vec<Uuid>, Counts), FeedError> {
        let deleted = notifications::delete(&self.db, user, ids).await?;
        let c = inbox::counts(&self.db, user).await?;
        if !deleted.is_empty() {
            self.publish(
                user,
                ServerFrame::Deleted {
                    ids: &deleted,
                    unread_count: c.unread,
                    unseen_count: c.unseen,
                },
            );
        }
        Ok((deleted, c))
    }
}
