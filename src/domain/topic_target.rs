//! A rule's topic recipient: a literal topic key, or a template over the
//! event that renders to one (`venue.{{ venue_id }}`).

use super::{DomainError, TopicKey};

/// Where a topic rule fans out. A template is compiled when the rule is
/// saved, so a syntax error is refused then; what it renders is parsed as a
/// [`TopicKey`] per event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopicTarget {
    Key(TopicKey),
    Template(Template),
}

/// Template source known to compile. Private so only [`TopicTarget::parse`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Longest template source accepted: a key is at most 64 characters, and
/// room for a few expressions is plenty.
const MAX_TEMPLATE_LEN: usize = 256;

fn invalid(reason: String) -> DomainError {
    DomainError::InvalidField {
        field: "recipient.topic",
        reason,
    }
}

impl TopicTarget {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        if !(raw.contains("{{") || raw.contains("{%") || raw.contains("{#")) {
            return TopicKey::parse(raw)
                .map(Self::Key)
                .map_err(|e| invalid(e.to_string()));
        }
        if raw.len() > MAX_TEMPLATE_LEN {
            return Err(invalid(format!(
                "a template is at most {MAX_TEMPLATE_LEN} characters"
            )));
        }
        // Syntax only: rendering (with Herald's fuel and strict undefined) happens per event.
        minijinja::Environment::new()
            .template_from_str(raw)
            .map_err(|e| invalid(format!("template does not compile: {e}")))?;
        Ok(Self::Template(Template(raw.to_string())))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Key(k) => k.as_str(),
            Self::Template(t) => t.as_str(),
        }
    }
}

/// The `topic` of a rule's recipient object, when set: a topic rule reads
/// no user id or contacts from the event (each subscriber's own are used).
pub(super) fn from_recipient(
    obj: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<TopicTarget>, DomainError> {
    let raw = match obj.get("topic") {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(invalid("must be a string".into())),
    };
    let others = ["user_id", "email", "phone"]
        .into_iter()
        .filter(|k| obj.get(*k).is_some_and(|v| !v.is_null()))
        .collect::<Vec<_>>();
    if !others.is_empty() {
        return Err(invalid(format!(
            "a topic recipient cannot also name {}: every subscriber is reached with their own",
            others.join(", ")
        )));
    }
    TopicTarget::parse(raw).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_key_is_a_literal_topic() {
        let t = TopicTarget::parse("venue.42").unwrap();
        assert!(matches!(&t, TopicTarget::Key(k) if k.as_str() == "venue.42"));
    }

    #[test]
    fn a_key_with_an_expression_is_a_template() {
        let t = TopicTarget::parse("venue.{{ venue_id }}").unwrap();
        assert!(matches!(&t, TopicTarget::Template(_)));
        assert_eq!(t.as_str(), "venue.{{ venue_id }}");
    }

    #[test]
    fn a_template_that_does_not_compile_is_refused() {
        assert!(TopicTarget::parse("venue.{{ venue_id").is_err());
        assert!(TopicTarget::parse("{% if %}").is_err());
    }

    #[test]
    fn a_literal_that_is_not_a_topic_key_is_refused() {
        assert!(TopicTarget::parse("").is_err());
        assert!(TopicTarget::parse("has space").is_err());
        assert!(TopicTarget::parse("..").is_err());
    }

    fn recipient(v: serde_json::Value) -> Result<Option<TopicTarget>, DomainError> {
        from_recipient(v.as_object().unwrap())
    }

    #[test]
    fn a_recipient_with_both_a_topic_and_a_user_id_is_refused() {
        let both = serde_json::json!({"topic": "venue.1", "user_id": "owner"});
        assert!(recipient(both).is_err());
        assert!(recipient(serde_json::json!({"topic": 3})).is_err());
    }

    #[test]
    fn a_recipient_without_a_topic_has_none() {
        assert_eq!(
            recipient(serde_json::json!({"user_id": "u"})).unwrap(),
            None
        );
        assert_eq!(recipient(serde_json::json!({"topic": null})).unwrap(), None);
    }

    #[test]
    fn a_stored_topic_recipient_reads_back() {
        let map = crate::domain::RecipientMap::parse(Some(
            &serde_json::json!({"topic": "venue.{{ id }}"}),
        ))
        .unwrap();
        let back = crate::domain::RecipientMap::parse(Some(&map.to_json())).unwrap();
        assert_eq!(back, map);
    }

    #[test]
    fn an_overlong_template_is_refused() {
        let long = format!("{{{{ a }}}}{}", "x".repeat(MAX_TEMPLATE_LEN));
        assert!(TopicTarget::parse(&long).is_err());
    }
}
