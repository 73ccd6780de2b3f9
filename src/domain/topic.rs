//! Topics: a key names a group of subscribers a send fans out to.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

use super::PreferenceDocument;

/// Why a topic key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopicError {
    #[error("invalid topic key: must be 1 to {max} characters of letters, digits and - _ . :, not dots only", max = TopicKey::MAX_LEN)]
    InvalidKey,
}

/// A topic's key, as it appears in URLs and sends (`movie-42.showtimes`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicKey(String);

impl TopicKey {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: impl Into<String>) -> Result<Self, TopicError> {
        let raw = raw.into();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || "-_.:".contains(c);
        // Dots only (`.`, `..`) would be path traversal once the key sits in a URL.
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw.chars().all(ok_char)
            && !raw.chars().all(|c| c == '.');
        ok.then_some(Self(raw)).ok_or(TopicError::InvalidKey)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TopicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who changed a user's preferences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeOrigin {
    /// The user, with their own token.
    User,
    /// A service, with the API key of this name.
    ApiKey { name: String },
    /// The one-click unsubscribe link in an email.
    Unsubscribe,
}

impl ChangeOrigin {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey { .. } => "api_key",
            Self::Unsubscribe => "unsubscribe",
        }
    }

    pub fn key_name(&self) -> Option<&str> {
        match self {
            Self::ApiKey { name } => Some(name),
            _ => None,
        }
    }
}

/// The fields one change touched, by dot path (`categories.marketing.email`),
/// with their values before and after; a field that did not exist is null.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PreferenceChange {
    pub before: BTreeMap<String, Value>,
    pub after: BTreeMap<String, Value>,
}

impl PreferenceChange {
    /// What changed between two documents; `None` when nothing did.
    pub fn between(before: &PreferenceDocument, after: &PreferenceDocument) -> Option<Self> {
        let (old, new) = (leaves(&before.to_json()), leaves(&after.to_json()));
        let mut change = Self::default();
        for path in old.keys().chain(new.keys()) {
            let (a, b) = (old.get(path), new.get(path));
            if a != b && !change.before.contains_key(path) {
                change
                    .before
                    .insert(path.clone(), a.cloned().unwrap_or(Value::Null));
                change
                    .after
                    .insert(path.clone(), b.cloned().unwrap_or(Value::Null));
            }
        }
        (!change.before.is_empty()).then_some(change)
    }

    pub fn before_json(&self) -> Value {
        Value::Object(self.before.clone().into_iter().collect::<Map<_, _>>())
    }

    pub fn after_json(&self) -> Value {
        Value::Object(self.after.clone().into_iter().collect::<Map<_, _>>())
    }
}

/// Every non-object value of a document by its dot path. Quiet hours stay one
/// value: their start, end and zone only mean something together.
fn leaves(doc: &Value) -> BTreeMap<String, Value> {
    fn walk(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
        match v {
            Value::Object(map) if prefix != "quiet_hours" => {
                for (k, child) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, child, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk("", doc, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PreferencePatch;
    use serde_json::json;

    fn doc(v: Value) -> PreferenceDocument {
        let mut d = PreferenceDocument::default();
        d.apply(PreferencePatch::parse(&v).unwrap());
        d
    }

    #[test]
    fn topic_keys_are_short_plain_names() {
        assert!(TopicKey::parse("movie-42.showtimes").is_ok());
        for bad in ["", "..", "a b", "a/b", "é", &"x".repeat(65)] {
            assert_eq!(TopicKey::parse(bad), Err(TopicError::InvalidKey), "{bad}");
        }
    }

    #[test]
    fn a_change_lists_only_the_fields_it_touched() {
        let before = doc(json!({"channels": {"sms": false}}));
        let after = doc(json!({"channels": {"sms": false, "email": false}}));
        let change = PreferenceChange::between(&before, &after).unwrap();
        assert_eq!(change.before_json(), json!({"channels.email": true}));
        assert_eq!(change.after_json(), json!({"channels.email": false}));
    }

    #[test]
    fn a_new_category_was_null_before_and_quiet_hours_are_one_field() {
        let before = PreferenceDocument::default();
        let after = doc(json!({"categories": {"marketing": {"email": false}},
            "quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Europe/Paris"}}));
        let change = PreferenceChange::between(&before, &after).unwrap();
        assert_eq!(change.before["categories.marketing.email"], Value::Null);
        assert_eq!(change.after["categories.marketing.email"], json!(false));
        assert_eq!(change.before["quiet_hours"], Value::Null);
        assert_eq!(change.after["quiet_hours"]["start"], json!("22:00"));
    }

    #[test]
    fn an_unchanged_document_is_no_change() {
        let d = doc(json!({"channels": {"push": false}}));
        assert_eq!(PreferenceChange::between(&d, &d.clone()), None);
    }
}
