//! The in-app feed's read state: list, read, unread, delete and ack. Every
//! change commits first, then publishes a finished frame on the bus. New
//! notifications are not made here: the producer makes them.

use crate::bus::{Bus, BusMessage};
use crate::domain::UserId;
use crate::persistence::{notifications, StoreError};
use crate::protocol::ServerFrame;
use crate::realtime::{CommandError, SessionCommands};
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct Feed {
    db: DatabaseConnection,
    bus: Arc<dyn Bus>,
}

impl Feed {
    pub fn new(db: DatabaseConnection, bus: Arc<dyn Bus>) -> Self {
        Self { db, bus }
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
