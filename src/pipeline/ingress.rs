//! How a source hands a message to the pipeline: its body, the shape its
//! transport says it has (JSON, or a binary-mode CloudEvent whose attributes
//! travel in headers) and the W3C trace context from its headers. Every
//! source parses here, so every source accepts the same shapes.

use super::{Outcome, Pipeline, PipelineError};
use crate::domain::{cloudevent_binary, CloudEventError, Event, EventError, TraceContext};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use tracing::Instrument;

/// What the transport says about the body.
#[derive(Clone, Debug)]
pub enum Shape<'a> {
    /// A JSON body: a flat event, a `StandardMessage` envelope or a structured
    /// CloudEvent. With no type in it, `fallback_type` (routing key, channel) is the type.
    Json { fallback_type: Option<&'a str> },
    /// Declared a structured CloudEvent (`application/cloudevents+json`), so
    /// it must be one.
    StructuredCloudEvent,
    /// A binary-mode CloudEvent: context attributes by their CloudEvents name
    /// (`id`, `type`, `source`, …), the body is its data.
    BinaryCloudEvent {
        attributes: BTreeMap<String, String>,
        content_type: Option<String>,
    },
}

/// One message as a source received it.
#[derive(Clone, Debug)]
pub struct Inbound<'a> {
    pub body: &'a [u8],
    pub shape: Shape<'a>,
    /// `rest`, `amqp:<queue>`, `redis:<channel>`, `stream:<key>`.
    pub source: &'a str,
    /// From the transport's headers; wins over a `traceparent` in the body.
    pub trace: Option<TraceContext>,
}

impl Inbound<'_> {
    /// The event the message carries.
    pub fn parse(&self) -> Result<Event, EventError> {
        let mut event = match &self.shape {
            Shape::Json { fallback_type } => Event::normalise(self.body, *fallback_type)?,
            Shape::StructuredCloudEvent => {
                let event = Event::normalise(self.body, None)?;
                if !event.meta.contains_key("specversion") {
                    return Err(CloudEventError::Missing("specversion").into());
                }
                event
            }
            Shape::BinaryCloudEvent {
                attributes,
                content_type,
            } => cloudevent_binary(
                |name| attributes.get(name).cloned(),
                content_type.as_deref(),
                self.body,
            )?,
        };
        if self.trace.is_some() {
            event.trace.clone_from(&self.trace);
        }
        Ok(event)
    }

    /// What a dead letter keeps. A binary-mode CloudEvent is written out in
    /// structured mode (its attributes beside its data), so a replay, which
    /// reads only the stored body, sees the same event.
    pub fn replayable_body(&self) -> Cow<'_, [u8]> {
        let Shape::BinaryCloudEvent { attributes, .. } = &self.shape else {
            return Cow::Borrowed(self.body);
        };
        let Ok(data) = serde_json::from_slice::<Value>(self.body) else {
            return Cow::Borrowed(self.body);
        };
        let mut obj: Map<String, Value> = attributes
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        obj.insert("data".into(), data);
        Cow::Owned(Value::Object(obj).to_string().into_bytes())
    }
}

/// Reads binary-mode attributes from a transport's headers: each header whose
/// name starts with one of `prefixes` (case-insensitively) is an attribute.
/// `None` unless `specversion` is among them.
pub fn binary_attributes<'h>(
    headers: impl Iterator<Item = (&'h str, String)>,
    prefixes: &[&str],
) -> Option<BTreeMap<String, String>> {
    let attributes: BTreeMap<String, String> = headers
        .filter_map(|(name, value)| {
            let lower = name.to_ascii_lowercase();
            let attr = prefixes
                .iter()
                .find_map(|p| lower.strip_prefix(&p.to_ascii_lowercase()))?;
            Some((attr.to_string(), value))
        })
        .collect();
    attributes.contains_key("specversion").then_some(attributes)
}

impl Pipeline {
    /// Parses a source's message and processes the event in its trace.
    pub async fn ingest_inbound(&self, inbound: &Inbound<'_>) -> Result<Outcome, PipelineError> {
        match inbound.parse() {
            Ok(event) => self.ingest_event(event, inbound.source).await,
            Err(e) => self.counted(inbound.source, Err(e.into())),
        }
    }

    /// Processes a parsed event inside its `event` span, which continues the
    /// trace the source sent (see [`crate::trace::event_span`]).
    pub async fn ingest_event(&self, event: Event, source: &str) -> Result<Outcome, PipelineError> {
        let span = crate::trace::event_span(&event.id, &event.event_type, event.trace.as_ref());
        let result = self.process(event, source).instrument(span).await;
        self.counted(source, result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> BTreeMap<String, String> {
        [
            ("specversion", "1.0"),
            ("id", "x1"),
            ("type", "a.b"),
            ("source", "s"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn binary_attributes_are_read_from_any_of_the_binding_prefixes() {
        let headers = vec![
            ("cloudEvents:specversion", "1.0".to_string()),
            ("cloudEvents_id", "x".to_string()),
            ("CE-Type", "a.b".to_string()),
            ("other", "y".to_string()),
        ];
        let got = binary_attributes(
            headers.into_iter(),
            &["cloudEvents:", "cloudEvents_", "ce-"],
        )
        .unwrap();
        assert_eq!(got.get("id").map(String::as_str), Some("x"));
        assert_eq!(got.get("type").map(String::as_str), Some("a.b"));
        assert!(!got.contains_key("other"));
        assert!(
            binary_attributes(vec![("ce-id", "x".to_string())].into_iter(), &["ce-"]).is_none()
        );
    }

    #[test]
    fn a_binary_cloudevent_is_dead_lettered_in_structured_mode_so_replay_sees_it() {
        let inbound = Inbound {
            body: br#"{"user_id":"u"}"#,
            shape: Shape::BinaryCloudEvent {
                attributes: attrs(),
                content_type: None,
            },
            source: "rest",
            trace: None,
        };
        let stored = inbound.replayable_body();
        let again = Event::normalise(&stored, None).unwrap();
        assert_eq!(again, inbound.parse().unwrap());
    }

    #[test]
    fn a_body_declared_a_cloudevent_must_be_one() {
        let inbound = Inbound {
            body: br#"{"event_type":"a.b","user_id":"u"}"#,
            shape: Shape::StructuredCloudEvent,
            source: "rest",
            trace: None,
        };
        assert_eq!(
            inbound.parse(),
            Err(EventError::CloudEvent(CloudEventError::Missing(
                "specversion"
            )))
        );
    }
}
