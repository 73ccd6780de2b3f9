//! WebSocket sessions reach the feed through [`SessionCommands`].

use super::{Feed, FeedError};
use crate::domain::UserId;
use crate::persistence::inbox::Transition;
use crate::realtime::{CommandError, SessionCommands};
use futures_util::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;
use uuid::Uuid;

fn command_error(e: FeedError) -> CommandError {
    tracing::error!(error = %e, "websocket command failed");
    (
        "internal_error",
        "the command could not be completed".to_string(),
    )
}

pub struct FeedCommands(pub Arc<Feed>);

impl FeedCommands {
    /// Runs `f` on the feed; its frames reach the client through the bus, so only errors are answered here.
    fn run<F, Fut, T>(&self, f: F) -> BoxFuture<'static, Result<(), CommandError>>
    where
        F: FnOnce(Arc<Feed>) -> Fut,
        Fut: Future<Output = Result<T, FeedError>> + Send + 'static,
    {
        let fut = f(self.0.clone());
        Box::pin(async move { fut.await.map(|_| ()).map_err(command_error) })
    }
}

impl SessionCommands for FeedCommands {
    fn mark_read(
        &self,
        user: UserId,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'static, Result<(), CommandError>> {
        self.run(|feed| async move { feed.change(&user, &ids, Transition::Read).await })
    }

    fn mark_all_read(&self, user: UserId) -> BoxFuture<'static, Result<(), CommandError>> {
        self.run(|feed| async move { feed.mark_all_read(&user).await })
    }

    fn mark_seen(
        &self,
        user: UserId,
        ids: Vec<Uuid>,
    ) -> BoxFuture<'static, Result<(), CommandError>> {
        self.run(|feed| async move { feed.change(&user, &ids, Transition::Seen).await })
    }

    fn mark_all_seen(&self, user: UserId) -> BoxFuture<'static, Result<(), CommandError>> {
        self.run(|feed| async move { feed.mark_all_seen(&user).await })
    }

    fn ack(&self, user: UserId, ids: Vec<Uuid>) -> BoxFuture<'static, Result<(), CommandError>> {
        self.run(|feed| async move {
            crate::persistence::deliveries::mark_in_app_delivered(&feed.db, &user, &ids)
                .await
                .map_err(FeedError::Store)
        })
    }
}
