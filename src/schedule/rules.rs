//! A rule's `delay`: the event's unit stores the rule's send as a scheduled
//! row (in the same transaction as the event's dedupe guard) instead of
//! planning it now.

use super::StoredIntent;
use crate::domain::{DomainError, Span};
use crate::persistence::scheduled::NewScheduled;
use crate::producer::{Content, InAppExtras, Intent, ProducerError};
use crate::templates::TemplateEngine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Reads a rule's `delay` field: absent or null is none, else a span.
pub fn rule_delay(raw: Option<&Value>) -> Result<Option<Span>, DomainError> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Span::parse(s).map(Some),
        Some(_) => Err(DomainError::InvalidField {
            field: "delay",
            reason: "must be a span such as \"15m\"".into(),
        }),
    }
}

/// The request id of a rule's delayed send for an event: the same event and
/// rule always give the same one, so the send happens at most once. Hashed,
/// because an event id alone may be as long as a request id may be.
fn request_id(rule: Option<uuid::Uuid>, event_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(rule.map(|r| r.to_string()).unwrap_or_default());
    h.update([0]);
    h.update(event_id);
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("rule-delay:{hex}")
}

/// The scheduled row for a rule's intent `delay` from now, and what the
/// event's audit shows of it.
pub fn delayed(
    templates: &TemplateEngine,
    intent: &Intent,
    delay: Span,
    event_id: &str,
) -> Result<(NewScheduled, Value), ProducerError> {
    if let Content::Template { code, .. } = &intent.content {
        if !templates.exists(code) {
            return Err(ProducerError::TemplateNotFound(code.clone()));
        }
    }
    let request_id = request_id(intent.rule_id, event_id);
    let stored = StoredIntent::new(intent, &InAppExtras::default(), &request_id);
    let text = serde_json::to_string(&stored).map_err(|e| ProducerError::Content(e.to_string()))?;
    let due_at = chrono::Utc::now() + delay.to_chrono();
    let shown = json!({"delay": delay.to_string(), "send_at": due_at, "request_id": request_id});
    Ok((
        NewScheduled {
            user: intent.user.clone(),
            request_id,
            intent: text,
            due_at,
        },
        shown,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_delay_is_a_span_or_nothing() {
        assert_eq!(rule_delay(None), Ok(None));
        assert_eq!(rule_delay(Some(&Value::Null)), Ok(None));
        assert_eq!(rule_delay(Some(&json!("15m"))), Ok(Span::from_secs(900)));
        assert!(rule_delay(Some(&json!("15"))).is_err());
        assert!(rule_delay(Some(&json!(900))).is_err());
    }

    #[test]
    fn the_same_event_and_rule_always_give_the_same_request_id() {
        let rule = Some(uuid::Uuid::now_v7());
        let long = "e".repeat(255);
        assert_eq!(request_id(rule, &long), request_id(rule, &long));
        assert_ne!(request_id(rule, "a"), request_id(rule, "b"));
        assert!(request_id(rule, &long).len() <= 255);
    }
}
