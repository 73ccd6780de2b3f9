//! Packs of templates and rules (`examples/*/pack.json`), loaded idempotently
//! by `herald import DIR` and `POST /api/v1/import`.

use crate::domain::{Category, Channel, DomainError, EventPattern, Priority, RecipientMap, Rule};
use crate::persistence::{catalog_version, rules, templates, StoreError};
use crate::templates::{check, TemplateError, TemplateParts};
use sea_orm::{ConnectionTrait, DatabaseConnection, DatabaseTransaction, TransactionTrait};
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("template {code}: {source}")]
    Template { code: String, source: TemplateError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A template as the API and packs write it: `{code, locale, description, parts}`,
/// or the channels at the top level, or the older `{code, content, language}` form.
pub struct TemplateInput {
    pub code: String,
    pub locale: String,
    pub description: Option<String>,
    pub parts: TemplateParts,
}

fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField {
        field,
        reason: reason.into(),
    }
}

pub fn template_code(raw: &str) -> Result<String, DomainError> {
    let ok = !raw.is_empty()
        && raw.len() <= 128
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    ok.then(|| raw.to_string()).ok_or_else(|| {
        invalid(
            "code",
            format!("'{raw}' must be 1 to 128 letters, digits, _ - ."),
        )
    })
}

impl TemplateInput {
    pub fn parse(v: &Value, code_from_path: Option<&str>) -> Result<Self, DomainError> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid("template", "must be a JSON object"))?;
        let code = match (code_from_path, obj.get("code").and_then(Value::as_str)) {
            (Some(p), _) => p.to_string(),
            (None, Some(c)) => c.to_string(),
            (None, None) => return Err(invalid("code", "is required")),
        };
        let locale = obj
            .get("locale")
            .or_else(|| obj.get("language"))
            .and_then(Value::as_str)
            .unwrap_or("en");
        let locale = crate::domain::Locale::parse(locale)?.as_str().to_string();
        let parts_value = if let Some(p) = obj.get("parts") {
            p.clone()
        } else if let Some(content) = obj.get("content").and_then(Value::as_str) {
            json!({"in_app": {"body": content}, "email": {"text": content}, "sms": {"text": content}, "push": {"body": content}})
        } else {
            let channels: serde_json::Map<String, Value> = obj
                .iter()
                .filter(|(k, _)| Channel::parse(k).is_ok_and(|c| c.as_str() == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Value::Object(channels)
        };
        Ok(Self {
            code: template_code(&code)?,
            locale,
            description: obj
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_string),
            parts: TemplateParts::parse(&parts_value)?,
        })
    }
}

/// Parses a rule body; `id` is kept when updating.
pub fn parse_rule(v: &Value, id: uuid::Uuid) -> Result<Rule, DomainError> {
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("rule", "must be a JSON object"))?;
    const KEYS: [&str; 12] = [
        "name",
        "event_pattern",
        "channels",
        "template_code",
        "category",
        "priority",
        "recipient",
        "condition",
        "enabled",
        "id",
        "digest",
        "throttle",
    ];
    // Keys of features kept outside the list above (see `crate::schedule`).
    const SCHEDULE_KEYS: [&str; 1] = ["delay"];
    // See `crate::escalation`.
    const ESCALATION_KEYS: [&str; 1] = ["escalation"];
    if let Some(k) = obj.keys().find(|k| {
        !KEYS.contains(&k.as_str())
            && !SCHEDULE_KEYS.contains(&k.as_str())
            && !ESCALATION_KEYS.contains(&k.as_str())
    }) {
        return Err(invalid("rule", format!("unknown field '{k}'")));
    }
    let s = |k: &'static str| {
        obj.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(k, "is required and must be a string"))
    };
    let channels = obj
        .get("channels")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("channels", "is required and must be a list"))?
        .iter()
        .map(|c| {
            c.as_str()
                .map(Channel::parse)
                .unwrap_or_else(|| Err(DomainError::InvalidChannel(c.to_string())))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if channels.is_empty() {
        return Err(invalid("channels", "must not be empty"));
    }
    let condition = obj
        .get("condition")
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|c| !c.trim().is_empty());
    if let Some(c) = &condition {
        crate::templates::environment()
            .compile_expression(c)
            .map_err(|e| invalid("condition", e.to_string()))?;
    }
    let rule = Rule {
        id,
        name: crate::domain::bounded_text("name", s("name")?.to_string(), 200)?,
        pattern: EventPattern::parse(s("event_pattern")?)?,
        channels,
        template_code: template_code(s("template_code")?)?,
        category: match obj.get("category").and_then(Value::as_str) {
            Some(c) => Category::parse(c)?,
            None => Category::default_category(),
        },
        priority: Priority::parse(obj.get("priority").unwrap_or(&Value::Null))?,
        recipient: RecipientMap::parse(obj.get("recipient"))?,
        condition,
        enabled: obj
            .get("enabled")
            .map(|e| {
                e.as_bool()
                    .ok_or_else(|| invalid("enabled", "must be a boolean"))
            })
            .transpose()?
            .unwrap_or(true),
        delay: crate::schedule::rule_delay(obj.get("delay"))?,
        digest: crate::digest::parse_rule_digest(obj.get("digest"))?,
        throttle: crate::domain::Throttle::parse(obj.get("throttle"))?,
        escalation: crate::domain::Escalation::parse(obj.get("escalation"))?,
    };
    // A topic rule's fan-out is sent at once to everyone; delays, digests,
    // throttles and escalation are per user and would not apply.
    if rule.recipient.topic.is_some()
        && (rule.delay.is_some()
            || rule.digest.is_some()
            || rule.throttle.is_some()
            || rule.escalation.is_some())
    {
        return Err(invalid(
            "recipient.topic",
            "cannot be combined with delay, digest, throttle or escalation",
        ));
    }
    Ok(rule)
}

pub fn rule_json(r: &Rule) -> Value {
    json!({
        "id": r.id, "name": r.name, "event_pattern": r.pattern.as_str(),
        "channels": r.channels.iter().map(Channel::as_str).collect::<Vec<_>>(),
        "template_code": r.template_code, "category": r.category.as_str(), "priority": r.priority,
        "recipient": r.recipient.to_json(), "condition": r.condition, "enabled": r.enabled,
        "delay": r.delay.map(|d| d.to_string()),
        "digest": r.digest.as_ref().map(crate::domain::DigestSpec::to_json),
        "throttle": r.throttle.as_ref().map(crate::domain::Throttle::to_json),
        "escalation": r.escalation.as_ref().map(crate::domain::Escalation::to_json),
    })
}

/// Saves a template version unless the current one already has these parts.
pub async fn upsert_template(
    db: &(impl ConnectionTrait + TransactionTrait),
    t: &TemplateInput,
) -> Result<(i32, bool), PackError> {
    check(&t.parts).map_err(|source| PackError::Template {
        code: t.code.clone(),
        source,
    })?;
    let current = templates::get(db, &t.code).await?;
    if let Some(same) = current
        .iter()
        .find(|r| r.locale == t.locale && r.parts == t.parts)
    {
        return Ok((same.version, false));
    }
    Ok((
        templates::save(
            db,
            &t.code,
            &t.locale,
            t.description.clone(),
            &t.parts,
            false,
        )
        .await?,
        true,
    ))
}

/// Loads a pack `{templates: [...], rules: [...]}` in one transaction (all or
/// nothing, one catalog change); returns counts of what changed.
pub async fn import(db: &DatabaseConnection, pack: &Value) -> Result<Value, PackError> {
    import_with_progress(db, pack, &mut |_| {}).await
}

/// Where an import is: item `n` (from 1) of `of` of its kind, about to be loaded.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    Template { n: usize, of: usize },
    Rule { n: usize, of: usize },
}

/// [`import`], calling `progress` before each template and rule (`herald import`'s counts).
pub async fn import_with_progress(
    db: &DatabaseConnection,
    pack: &Value,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Value, PackError> {
    let txn = db.begin().await.map_err(StoreError::from)?;
    // Bumped first: the write takes SQLite's lock before the reads below.
    catalog_version::bump(&txn).await?;
    let summary = import_in(&txn, pack, progress).await?;
    txn.commit().await.map_err(StoreError::from)?;
    Ok(summary)
}

async fn import_in(
    db: &DatabaseTransaction,
    pack: &Value,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Value, PackError> {
    let (mut t_new, mut t_same, mut r_new, mut r_updated, mut r_same) = (0, 0, 0, 0, 0);
    let list = |key| {
        pack.get(key)
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice)
    };
    let (templates, rule_list) = (list("templates"), list("rules"));
    for (i, t) in templates.iter().enumerate() {
        progress(Progress::Template {
            n: i + 1,
            of: templates.len(),
        });
        let input = TemplateInput::parse(t, None)?;
        if upsert_template(db, &input).await?.1 {
            t_new += 1
        } else {
            t_same += 1
        }
    }
    for (i, r) in rule_list.iter().enumerate() {
        progress(Progress::Rule {
            n: i + 1,
            of: rule_list.len(),
        });
        let parsed = parse_rule(r, uuid::Uuid::now_v7())?;
        match rules::find_by_name(db, &parsed.name).await? {
            Some(existing)
                if rule_json(&Rule {
                    id: existing.id,
                    ..parsed.clone()
                }) == rule_json(&existing) =>
            {
                r_same += 1
            }
            Some(existing) => {
                rules::update(
                    db,
                    &Rule {
                        id: existing.id,
                        ..parsed
                    },
                )
                .await?;
                r_updated += 1;
            }
            None => {
                rules::create(db, &parsed).await?;
                r_new += 1;
            }
        }
    }
    Ok(
        json!({"templates": {"saved": t_new, "unchanged": t_same}, "rules": {"created": r_new, "updated": r_updated, "unchanged": r_same}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pack_rule_with_a_topic_recipient_round_trips_through_export() {
        let body = json!({"name": "n", "event_pattern": "show.*", "channels": ["in_app"],
                          "template_code": "t", "recipient": {"topic": "venue.{{ venue_id }}"}});
        let rule = parse_rule(&body, uuid::Uuid::nil()).expect("topic rule");
        let topic = rule.recipient.topic.as_ref().map(|t| t.as_str());
        assert_eq!(topic, Some("venue.{{ venue_id }}"));
        let again = parse_rule(&rule_json(&rule), uuid::Uuid::nil()).expect("exported rule");
        assert_eq!(again.recipient, rule.recipient);
    }

    #[test]
    fn a_pack_rule_with_a_topic_and_a_delay_is_refused() {
        let body = json!({"name": "n", "event_pattern": "show.*", "channels": ["in_app"],
                          "template_code": "t", "recipient": {"topic": "venue.1"}, "delay": "1h"});
        assert!(parse_rule(&body, uuid::Uuid::nil()).is_err());
    }
}
