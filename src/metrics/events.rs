//! The outcomes and source kinds `herald_events_total` is labelled with.

use crate::pipeline::{Outcome, PipelineError, Status};

/// What became of an event, for `herald_events_total`: one outcome per pass
/// through the pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventOutcome {
    Processed,
    Duplicate,
    /// Every matching rule's condition was false.
    NoMatch,
    /// The database was unavailable; the source retries it.
    Transient,
    /// Parked in the dead-letter table: malformed, refused, or no rule for its type.
    DeadLettered,
}

impl EventOutcome {
    /// The outcome of one pass, or `None` for a refusal: every source parks
    /// those, and [`EventOutcome::DeadLettered`] is counted when it does.
    pub fn of(result: &Result<Outcome, PipelineError>) -> Option<Self> {
        match result {
            Ok(o) => Some(match o.status {
                Status::Processed => Self::Processed,
                Status::Duplicate => Self::Duplicate,
                Status::NoMatch => Self::NoMatch,
            }),
            Err(e) if e.is_transient() => Some(Self::Transient),
            Err(_) => None,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Processed => "processed",
            Self::Duplicate => "duplicate",
            Self::NoMatch => "no_match",
            Self::Transient => "transient",
            Self::DeadLettered => "dead_lettered",
        }
    }
}

/// The kind of a source, without the queue, channel or stream it names (bounded).
pub(super) fn source_kind(source: &str) -> &'static str {
    match source.split(':').next().unwrap_or_default() {
        "rest" | "http" => "http",
        "amqp" => "amqp",
        "redis" => "redis_pubsub",
        "stream" => "redis_stream",
        "action" => "action",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_labelled_by_kind_without_their_queue_or_channel() {
        assert_eq!(source_kind("rest"), "http");
        assert_eq!(source_kind("amqp:orders"), "amqp");
        assert_eq!(source_kind("redis:alerts"), "redis_pubsub");
        assert_eq!(source_kind("stream:jobs"), "redis_stream");
        assert_eq!(source_kind("anything-else"), "other");
    }
}
