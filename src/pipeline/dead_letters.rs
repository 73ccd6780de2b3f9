//! Parking what cannot be processed, with its reason and the user it names.

use super::recipient::user_id_of;
use super::Pipeline;
use crate::domain::Event;
use crate::persistence::{events, StoreError};
use serde_json::Value;

impl Pipeline {
    /// Parks a message that cannot be processed, with its reason.
    pub async fn dead_letter(
        &self,
        source: &str,
        reason: &str,
        body: &[u8],
        metadata: Value,
    ) -> Result<uuid::Uuid, StoreError> {
        tracing::warn!(source, reason, "dead-lettered an event");
        self.stats
            .metrics
            .event(source, crate::metrics::EventOutcome::DeadLettered);
        let fallback = metadata.get("routing_key").and_then(Value::as_str);
        let event = Event::normalise(body, fallback).ok();
        // The user a matching rule would notify, so erasing them removes this too.
        let user = event.as_ref().and_then(|e| {
            let payload = Value::Object(e.payload.clone());
            self.catalog
                .rules()
                .iter()
                .filter(|r| r.pattern.matches(&e.event_type))
                // A topic rule notifies its subscribers, not a user the event names.
                .filter(|r| r.recipient.topic.is_none())
                .find_map(|r| user_id_of(r, &payload).ok())
        });
        let event_id = event.map(|e| e.id);
        let parked = events::add_dead_letter(
            &self.db,
            event_id,
            user.as_ref(),
            source,
            reason,
            body,
            metadata,
        )
        .await?;
        Ok(parked.id)
    }
}
