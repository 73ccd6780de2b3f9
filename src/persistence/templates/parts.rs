use crate::domain::DomainError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Every part a template may have, as `channel.part`.
pub const PART_NAMES: [&str; 17] = [
    "in_app.title",
    "in_app.body",
    "in_app.action_url",
    "in_app.data",
    "in_app.tags",
    "in_app.actions",
    "email.subject",
    "email.html",
    "email.text",
    "push.title",
    "push.body",
    "push.data",
    "sms.text",
    "webhook.body",
    "slack.blocks",
    "discord.embeds",
    "teams.card",
];

/// A template's sources by part name. `email.html` keeps its `.html` suffix,
/// which is what turns autoescaping on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateParts(BTreeMap<String, String>);

impl TemplateParts {
    /// Parses `{"in_app": {"title": "…", "body": "…"}, "email": {"subject", "html", "text"}, …}`.
    pub fn parse(v: &Value) -> Result<Self, DomainError> {
        let err = |reason: String| DomainError::InvalidField {
            field: "template",
            reason,
        };
        let obj = v
            .as_object()
            .ok_or_else(|| err("parts must be an object of channels".into()))?;
        let mut parts = BTreeMap::new();
        for (channel, inner) in obj {
            let inner = inner
                .as_object()
                .ok_or_else(|| err(format!("'{channel}' must be an object of parts")))?;
            for (part, source) in inner {
                let name = format!("{channel}.{part}");
                if !PART_NAMES.contains(&name.as_str()) {
                    return Err(err(format!(
                        "unknown part '{name}'; expected one of {}",
                        PART_NAMES.join(", ")
                    )));
                }
                let source = source
                    .as_str()
                    .ok_or_else(|| err(format!("'{name}' must be a string")))?;
                if source.len() > 256 * 1024 {
                    return Err(err(format!("'{name}' is longer than 256 KiB")));
                }
                parts.insert(name, source.to_string());
            }
        }
        if parts.is_empty() {
            return Err(err("a template needs at least one part".into()));
        }
        Ok(Self(parts))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Back to the nested JSON shape, for storage and the API.
    pub fn to_json(&self) -> Value {
        let mut out: Map<String, Value> = Map::new();
        for (name, source) in &self.0 {
            if let Some((channel, part)) = name.split_once('.') {
                let entry = out
                    .entry(channel.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = entry {
                    m.insert(part.to_string(), Value::String(source.clone()));
                }
            }
        }
        Value::Object(out)
    }

    pub fn channels(&self) -> Vec<String> {
        let mut c: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.split_once('.').map(|(c, _)| c.to_string()))
            .collect();
        c.dedup();
        c
    }
}
