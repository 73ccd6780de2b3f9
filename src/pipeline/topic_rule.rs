//! A rule whose recipient is a topic: the event records one durable fan-out
//! (the row `/send {"topic"}` writes) in its own unit, so it commits with the
//! event's guard and the fan-out runner reaches the subscribers after that.

use super::{Pipeline, PipelineError};
use crate::domain::{Event, Rule, TopicKey, TopicTarget};
use crate::persistence::topic_fanouts::NewFanout;
use crate::persistence::writer::Unit;
use crate::producer::{Content, ProducerError};
use crate::topics::{TopicMessage, TopicsError};
use serde_json::{json, Value};

/// The audit key of a topic rule that reached no topic.
const REFUSED: &str = "topic_error";

/// The topic key `target` names for this event's variables.
fn resolve(target: &TopicTarget, vars: &Value) -> Result<TopicKey, String> {
    let rendered = match target {
        TopicTarget::Key(k) => return Ok(k.clone()),
        TopicTarget::Template(t) => crate::templates::environment()
            .render_str(
                t.as_str(),
                minijinja::Value::from(minijinja::value::Serde(vars)),
            )
            .map_err(|e| format!("topic template '{}': {e}", t.as_str()))?,
    };
    let key = rendered.trim();
    TopicKey::parse(key)
        .map_err(|e| format!("topic '{key}' rendered from '{}': {e}", target.as_str()))
}

impl Pipeline {
    /// Adds the rule's fan-out to the unit, or records in the audit why it has none.
    pub(super) async fn topic_rule(
        &self,
        rule: &Rule,
        target: &TopicTarget,
        event: &Event,
        unit: &mut Unit,
        audit: &mut Vec<Value>,
    ) -> Result<(), PipelineError> {
        let mut vars = Value::Object(event.payload.clone());
        if let Some(obj) = vars.as_object_mut() {
            obj.entry("event_type")
                .or_insert_with(|| json!(event.event_type));
        }
        let refuse =
            |reason: String| json!({"rule_id": rule.id, "rule": rule.name, REFUSED: reason});
        let key = match resolve(target, &vars) {
            Ok(k) => k,
            Err(reason) => {
                audit.push(refuse(reason));
                return Ok(());
            }
        };
        if crate::persistence::topics::get(&self.db, &key)
            .await?
            .is_none()
        {
            audit.push(refuse(format!("unknown topic '{key}'")));
            return Ok(());
        }
        // One fan-out per (topic, event): a second rule to the same topic would reach everyone twice.
        if let Some(first) = unit.fanouts.iter().find(|f| f.topic == key) {
            audit.push(
                json!({"rule_id": rule.id, "rule": rule.name, "topic": key.as_str(),
                "skipped": "the event already fans out to this topic", "fanout_id": first.id}),
            );
            return Ok(());
        }
        if !self.templates().exists(&rule.template_code) {
            let missing = ProducerError::TemplateNotFound(rule.template_code.clone());
            return Err(super::rejected(&rule.name, missing));
        }
        let fanout = NewFanout {
            id: uuid::Uuid::now_v7(),
            // No request id: the event's guard, in the same transaction, is what
            // makes this happen once, and a `/send` request id cannot collide with it.
            request_id: None,
            message: message(rule, event, vars)?,
            topic: key,
        };
        audit.push(json!({"rule_id": rule.id, "rule": rule.name, "topic": fanout.topic.as_str(), "fanout_id": fanout.id}));
        unit.fanouts.push(fanout);
        Ok(())
    }
}

/// What every subscriber is sent: the rule's template over the event, as a
/// user rule's notification would be.
fn message(rule: &Rule, event: &Event, vars: Value) -> Result<String, PipelineError> {
    TopicMessage::for_rule(rule, Content::for_rule(rule, vars, &event.event_type))
        .to_text()
        .map_err(|e: TopicsError| PipelineError::Rejected(e.to_string()))
}

/// Why the event is dead-lettered: every topic rule it matched reached no
/// topic and nothing else came of it (no other rule, no webhook).
pub(super) fn refusal(audit: &[Value]) -> Option<String> {
    let reasons: Vec<&str> = audit
        .iter()
        .filter_map(|a| a.get(REFUSED).and_then(Value::as_str))
        .collect();
    let effect = audit
        .iter()
        .any(|a| a.get(REFUSED).is_none() && a.get("skipped").is_none());
    (!reasons.is_empty() && !effect).then(|| reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(raw: &str) -> TopicTarget {
        TopicTarget::parse(raw).unwrap()
    }

    #[test]
    fn a_templated_key_renders_from_the_event() {
        let key = resolve(&target("venue.{{ venue_id }}"), &json!({"venue_id": 7})).unwrap();
        assert_eq!(key.as_str(), "venue.7");
    }

    #[test]
    fn a_rendered_key_that_does_not_parse_is_a_reason_not_a_panic() {
        let err = resolve(&target("venue.{{ name }}"), &json!({"name": "a b"})).unwrap_err();
        assert!(err.contains("venue.a b"), "{err}");
        assert!(resolve(&target("venue.{{ missing }}"), &json!({})).is_err());
    }

    #[test]
    fn an_event_is_refused_only_when_its_topic_rules_came_to_nothing() {
        let refused = json!({"rule": "a", REFUSED: "unknown topic 'x'"});
        let skipped = json!({"rule": "b", "skipped": "condition is false"});
        let sent = json!({"rule": "c", "user_id": "u"});
        assert_eq!(
            refusal(&[refused.clone(), skipped.clone()]).as_deref(),
            Some("unknown topic 'x'")
        );
        assert_eq!(refusal(&[refused, sent]), None);
        assert_eq!(refusal(&[skipped]), None);
    }
}
