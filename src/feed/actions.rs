//! Taking a notification's action. A `url` action records the click and
//! hands the URL back; an `event` action ingests an event through the normal
//! pipeline, so it is audited and routed like any other. Both mark it read.

use super::{Feed, FeedError};
use crate::domain::{NotificationAction, UserId};
use crate::persistence::inbox::{self, Transition};
use crate::persistence::notifications;
use crate::pipeline::{Pipeline, PipelineError};
use serde_json::json;
use uuid::Uuid;

/// The `source` action events carry in the audit and dead letters.
pub const ACTION_SOURCE: &str = "action";

/// What taking an action did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionTaken {
    Url(String),
    /// The ingested (or, without a route, parked) event's id.
    Event(String),
}

/// The action event's id: a repeat click is the same event, so it is ingested once.
pub fn action_event_id(notification: Uuid, index: usize) -> String {
    format!("action:{notification}:{index}")
}

impl Feed {
    #[tracing::instrument(skip_all, fields(user = %user, notification = %id, index))]
    pub async fn take_action(
        &self,
        pipeline: &Pipeline,
        user: &UserId,
        id: Uuid,
        index: usize,
    ) -> Result<ActionTaken, FeedError> {
        let view = notifications::get(&self.db, user, id)
            .await?
            .ok_or(FeedError::NotFound)?;
        let action = view
            .actions
            .get(index)
            .ok_or(FeedError::NoSuchAction(index))?;
        let taken = match action {
            NotificationAction::Url { url, .. } => {
                inbox::mark_in_app_clicked(&self.db, user, id).await?;
                ActionTaken::Url(url.clone())
            }
            NotificationAction::Event { label, event } => {
                let event_id = action_event_id(id, index);
                let body = json!({
                    "event_id": event_id,
                    "event_type": event,
                    "payload": {
                        "notification_id": id,
                        "action_index": index,
                        "label": label,
                        "user_id": user.as_str(),
                    },
                })
                .to_string();
                self.ingest(pipeline, body.as_bytes()).await?;
                ActionTaken::Event(event_id)
            }
        };
        self.change(user, &[id], Transition::Read).await?;
        Ok(taken)
    }

    /// Ingests an action's event. One nothing routes, or whose rule refuses it,
    /// is parked as a dead letter as a REST event would be: the click is kept
    /// and can be replayed, and the user is not blamed for the server's setup.
    async fn ingest(&self, pipeline: &Pipeline, body: &[u8]) -> Result<(), FeedError> {
        match pipeline.ingest(body, None, ACTION_SOURCE).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_transient() => Err(FeedError::Ingest(e.to_string())),
            Err(
                e @ (PipelineError::Unrouted(_)
                | PipelineError::Rejected(_)
                | PipelineError::Malformed(_)),
            ) => {
                pipeline
                    .dead_letter(ACTION_SOURCE, &e.to_string(), body, json!({}))
                    .await?;
                Ok(())
            }
            Err(e) => Err(FeedError::Ingest(e.to_string())),
        }
    }
}
