//! Incoming events, normalised from every accepted shape into one.

use super::DomainError;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// An AMQP topic pattern: words separated by `.`, where `*` matches exactly
/// one word and `#` matches zero or more (`booking.*`, `payment.#`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventPattern {
    raw: String,
    words: Vec<String>,
}

impl EventPattern {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let err = |reason: &str| DomainError::InvalidField {
            field: "event_pattern",
            reason: format!("'{raw}' {reason}"),
        };
        if raw.is_empty() || raw.len() > 255 {
            return Err(err("must be 1 to 255 characters"));
        }
        let mut words: Vec<String> = raw.split('.').map(str::to_string).collect();
        for w in &words {
            let wildcard = w == "*" || w == "#";
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-:".contains(c));
            if !wildcard && !plain {
                return Err(err(
                    "needs dot-separated words of letters, digits, _ - : or a lone * or #",
                ));
            }
        }
        // `#.#` means the same as `#`; keeping one keeps the match table small.
        words.dedup_by(|a, b| a == "#" && b == "#");
        Ok(Self {
            raw: raw.to_string(),
            words,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn matches(&self, event_type: &str) -> bool {
        let key: Vec<&str> = event_type.split('.').collect();
        matches_words(&self.words, &key)
    }
}

/// Linear in pattern × key words: a DP row over key prefixes, so no
/// pattern an admin can write (`#.#.#.…`) makes matching backtrack.
/// `row[j]` holds whether the pattern words seen so far match `key[..j]`.
fn matches_words(pattern: &[String], key: &[&str]) -> bool {
    let mut row = vec![false; key.len() + 1];
    row[0] = true;
    for p in pattern {
        if p == "#" {
            // Zero or more words: any prefix already matched extends to every longer one.
            let mut seen = false;
            for cell in row.iter_mut() {
                seen |= *cell;
                *cell = seen;
            }
        } else {
            for j in (1..=key.len()).rev() {
                row[j] = row[j - 1] && (p == "*" || p == key[j - 1]);
            }
            row[0] = false;
        }
    }
    row[key.len()]
}

/// Why a message could not be read as an event. Such messages are dead-lettered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("body is not JSON: {0}")]
    NotJson(String),
    #[error("event must be a JSON object")]
    NotObject,
    #[error("event has no type: send event_type (or type), or publish with a routing key")]
    MissingType,
    #[error("invalid event type '{0}'")]
    InvalidType(String),
    #[error("invalid event id: {0}")]
    InvalidId(String),
    /// No store can keep U+0000 everywhere (PostgreSQL refuses it in text and jsonb).
    #[error("{0} contains a NUL character (U+0000)")]
    NulCharacter(String),
    /// A CloudEvent (it names a `specversion`) that breaks the specification.
    #[error("invalid CloudEvent: {0}")]
    CloudEvent(#[from] super::cloudevents::CloudEventError),
}

/// A normalised event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The dedupe key: the producer's id, or a hash of type and body when it sends none.
    pub id: String,
    pub event_type: String,
    /// What rules and templates see: the flat event, or an envelope's `data`.
    pub payload: Map<String, Value>,
    /// Envelope fields (`timestamp`, `source`, `correlation_id`; a CloudEvent's
    /// `source`, `subject`, `time`…) when present.
    pub meta: Map<String, Value>,
    /// The W3C trace context the event travelled with (a source's headers or
    /// the body's `traceparent`), continued by its processing and deliveries.
    pub trace: Option<super::TraceContext>,
}

const ID_KEYS: [&str; 3] = ["event_id", "id", "message_id"];
const TYPE_KEYS: [&str; 2] = ["event_type", "type"];

pub(crate) fn first_string(obj: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match obj.get(*k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

impl Event {
    /// Accepts flat JSON and the `StandardMessage<T>` envelope
    /// (`{id|message_id|event_id, type|event_type, data|payload, …}`). With no type
    /// in the body, `fallback_type` (the routing key or channel) is the type.
    pub fn normalise(body: &[u8], fallback_type: Option<&str>) -> Result<Self, EventError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| EventError::NotJson(e.to_string()))?;
        let Value::Object(obj) = value else {
            return Err(EventError::NotObject);
        };
        if let Some(at) = super::find_nul(&Value::Object(obj.clone())) {
            return Err(EventError::NulCharacter(at));
        }
        if obj.contains_key(super::cloudevents::SPECVERSION) {
            return super::cloudevents::structured(obj);
        }
        let envelope = ["data", "payload"].iter().find_map(|k| match obj.get(*k) {
            Some(Value::Object(inner)) => Some(inner.clone()),
            _ => None,
        });
        let obj_trace = (
            first_string(&obj, &["traceparent"]),
            first_string(&obj, &["tracestate"]),
        );
        let id = first_string(&obj, &ID_KEYS);
        let event_type = first_string(&obj, &TYPE_KEYS)
            .or_else(|| fallback_type.map(str::to_string))
            .ok_or(EventError::MissingType)?;
        if !valid_type(&event_type) {
            return Err(EventError::InvalidType(event_type));
        }
        let (payload, meta) = match envelope {
            Some(data) => {
                let meta = obj
                    .iter()
                    .filter(|(k, _)| {
                        ["timestamp", "source", "correlation_id"].contains(&k.as_str())
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                (data, meta)
            }
            None => (obj, Map::new()),
        };
        let id = match id {
            Some(id) if !valid_id(&id) => {
                return Err(EventError::InvalidId(
                    "must be 1 to 255 printable characters".into(),
                ))
            }
            Some(id) => id,
            // Identical redeliveries hash alike, so they still dedupe.
            None => format!(
                "sha256:{}",
                hex::encode(
                    Sha256::new()
                        .chain_update(event_type.as_bytes())
                        .chain_update(body)
                        .finalize()
                )
            ),
        };
        let trace = trace_of(&obj_trace);
        Ok(Self {
            id,
            event_type,
            payload,
            meta,
            trace,
        })
    }
}

/// Letters, digits and `_-.:`, 1 to 255 of them: what rule patterns can match.
pub(crate) fn valid_type(event_type: &str) -> bool {
    !event_type.is_empty()
        && event_type.len() <= 255
        && event_type
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:".contains(c))
}

/// 1 to 255 printable characters: the dedupe key is stored and shown as text.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && !id.chars().any(char::is_control)
}

/// A body's top-level `traceparent` (and `tracestate`), as Redis envelopes and
/// the CloudEvents tracing extension carry them. A malformed one is ignored:
/// tracing never refuses an event.
pub(crate) fn trace_of(fields: &(Option<String>, Option<String>)) -> Option<super::TraceContext> {
    let parent = fields.0.as_deref()?;
    super::TraceContext::parse(parent, fields.1.as_deref()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_patterns_match_like_amqp() {
        let p = |s| EventPattern::parse(s).unwrap();
        assert!(p("booking.confirmed").matches("booking.confirmed"));
        assert!(p("booking.*").matches("booking.cancelled"));
        assert!(!p("booking.*").matches("booking.a.b"));
        assert!(p("payment.#").matches("payment"));
        assert!(p("payment.#").matches("payment.refund.partial"));
        assert!(p("#").matches("anything.at.all"));
        assert!(p("*.failed").matches("payment.failed"));
        assert!(!p("*.failed").matches("payment.success"));
        assert!(p("inventory:low-stock").matches("inventory:low-stock"));
        assert!(EventPattern::parse("booking..x").is_err());
        assert!(EventPattern::parse("book*").is_err());
    }

    /// The original backtracking matcher: obviously right, exponential on `#.#.#…`.
    fn reference(pattern: &[&str], key: &[&str]) -> bool {
        match pattern.split_first() {
            None => key.is_empty(),
            Some((&"#", rest)) => (0..=key.len()).any(|skip| reference(rest, &key[skip..])),
            Some((p, rest)) => match key.split_first() {
                Some((k, krest)) => (*p == "*" || p == k) && reference(rest, krest),
                None => false,
            },
        }
    }

    #[test]
    fn a_pathological_hash_pattern_against_a_long_key_finishes_at_once() {
        // 126 `#` then a word the key lacks: backtracking tries every way of
        // splitting 128 words among 126 wildcards, which never ends in practice.
        let pattern = format!("{}.b", vec!["#"; 126].join("."));
        let key = vec!["a"; 128].join(".");
        assert!(pattern.len() <= 255 && key.len() <= 255);
        let p = EventPattern::parse(&pattern).unwrap();
        let started = std::time::Instant::now();
        assert!(!p.matches(&key));
        assert!(p.matches(&format!("{key}.b")));
        // Alternating `#` and `*` defeats the collapsing of `#.#`; the table still copes.
        let mixed = EventPattern::parse(&format!("{}.b", vec!["#.*"; 63].join("."))).unwrap();
        assert!(!mixed.matches(&key));
        // Generous on purpose (microseconds in fact): only a hang fails it.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn repeated_hashes_collapse_without_changing_what_matches() {
        let p = |s| EventPattern::parse(s).unwrap();
        assert!(p("#.#").matches("a"));
        assert!(p("a.#.#.b").matches("a.b"));
        assert!(p("a.#.#.b").matches("a.x.y.b"));
        assert!(!p("a.#.#.b").matches("a.x.y"));
        assert_eq!(p("a.#.#.b").as_str(), "a.#.#.b");
    }

    proptest::proptest! {
        #[test]
        fn the_linear_matcher_agrees_with_backtracking(
            pattern in proptest::collection::vec(proptest::sample::select(vec!["#", "*", "a", "b"]), 1..7),
            key in proptest::collection::vec(proptest::sample::select(vec!["a", "b", "c"]), 1..7),
        ) {
            let parsed = EventPattern::parse(&pattern.join(".")).unwrap();
            proptest::prop_assert_eq!(parsed.matches(&key.join(".")), reference(&pattern, &key));
        }
    }

    #[test]
    fn seed_001_flat_events_keep_every_field() {
        let e = Event::normalise(
            br#"{"event_id":"evt_1","event_type":"booking.confirmed","user_id":"u"}"#,
            None,
        )
        .unwrap();
        assert_eq!(
            (e.id.as_str(), e.event_type.as_str()),
            ("evt_1", "booking.confirmed")
        );
        assert_eq!(e.payload["user_id"], "u");
    }

    #[test]
    fn standard_message_envelopes_unwrap_their_data() {
        let body = br#"{"message_id":"m1","type":"OrderCreatedEvent","data":{"user_id":"u"},"correlation_id":"c"}"#;
        let e = Event::normalise(body, None).unwrap();
        assert_eq!(
            (e.id.as_str(), e.event_type.as_str()),
            ("m1", "OrderCreatedEvent")
        );
        assert_eq!(e.payload["user_id"], "u");
        assert_eq!(e.meta["correlation_id"], "c");
    }

    #[test]
    fn the_routing_key_is_the_type_when_the_body_has_none() {
        let e = Event::normalise(br#"{"sku":"X"}"#, Some("inventory:low-stock")).unwrap();
        assert_eq!(e.event_type, "inventory:low-stock");
        let again = Event::normalise(br#"{"sku":"X"}"#, Some("inventory:low-stock")).unwrap();
        assert_eq!(e.id, again.id, "identical bodies dedupe");
    }

    #[test]
    fn malformed_bodies_are_refused_with_a_reason() {
        assert!(matches!(
            Event::normalise(b"{nope", None),
            Err(EventError::NotJson(_))
        ));
        assert_eq!(Event::normalise(b"[1]", None), Err(EventError::NotObject));
        assert_eq!(Event::normalise(b"{}", None), Err(EventError::MissingType));
        assert_eq!(
            Event::normalise(br#"{"type":"a","x":"\u0000"}"#, None),
            Err(EventError::NulCharacter("x".into()))
        );
    }
}
