mod digest;
mod quiet_hours;

pub use digest::{digest_value, digest_zone, DigestWindow};
pub use quiet_hours::QuietHours;

use super::{Category, Channel, DomainError};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A user's preferences. Anything not mentioned is enabled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreferenceDocument {
    pub channels: BTreeMap<Channel, bool>,
    pub categories: BTreeMap<Category, BTreeMap<Channel, bool>>,
    pub quiet_hours: Option<QuietHours>,
    /// Digest windows by category; they override a rule's window.
    pub digest: BTreeMap<Category, DigestWindow>,
}

impl PreferenceDocument {
    /// Whether a notification of `category` may go out on `channel`.
    pub fn allows(&self, channel: Channel, category: &Category) -> bool {
        let channel_on = self.channels.get(&channel).copied().unwrap_or(true);
        let category_on = self
            .categories
            .get(category)
            .and_then(|c| c.get(&channel))
            .copied()
            .unwrap_or(true);
        channel_on && category_on
    }

    pub fn apply(&mut self, patch: PreferencePatch) {
        self.channels.extend(patch.channels);
        for (category, switches) in patch.categories {
            match switches {
                None => {
                    self.categories.remove(&category);
                }
                Some(s) => self.categories.entry(category).or_default().extend(s),
            }
        }
        if let Some(q) = patch.quiet_hours {
            self.quiet_hours = q;
        }
        for (category, window) in patch.digest {
            match window {
                None => self.digest.remove(&category),
                Some(w) => self.digest.insert(category, w),
            };
        }
    }

    /// When a send of `priority` at `now` must wait for the end of quiet hours.
    /// `high` and `critical` never wait.
    pub fn quiet_until(
        &self,
        priority: super::Priority,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if priority >= super::Priority::High {
            return None;
        }
        self.quiet_hours.as_ref().and_then(|q| q.defer_until(now))
    }

    /// The document as the API shows it: every channel listed, explicit or defaulted.
    pub fn to_json(&self) -> Value {
        let channels: Map<String, Value> = Channel::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str().to_string(),
                    Value::Bool(self.channels.get(c).copied().unwrap_or(true)),
                )
            })
            .collect();
        let categories: Map<String, Value> = self
            .categories
            .iter()
            .map(|(cat, sw)| (cat.as_str().to_string(), switches_value(sw)))
            .collect();
        let mut doc = serde_json::json!({
            "channels": channels,
            "categories": categories,
            "quiet_hours": self.quiet_hours.as_ref().map(QuietHours::to_json),
        });
        // Shown once set, so documents of users without digests read as before.
        if let (false, Some(o)) = (self.digest.is_empty(), doc.as_object_mut()) {
            o.insert("digest".into(), digest_value(&self.digest));
        }
        doc
    }
}

pub fn switches_value(sw: &BTreeMap<Channel, bool>) -> Value {
    Value::Object(
        sw.iter()
            .map(|(c, on)| (c.as_str().to_string(), Value::Bool(*on)))
            .collect(),
    )
}

/// A parsed change to a preference document: PUT applies it to the defaults, PATCH to the current one.
#[derive(Clone, Debug, Default)]
pub struct PreferencePatch {
    channels: BTreeMap<Channel, bool>,
    /// `None` removes the category's overrides.
    categories: BTreeMap<Category, Option<BTreeMap<Channel, bool>>>,
    /// `Some(None)` clears quiet hours.
    quiet_hours: Option<Option<QuietHours>>,
    /// Digest windows by category; `None` removes one.
    digest: BTreeMap<Category, Option<DigestWindow>>,
}

fn field_err(field: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField {
        field,
        reason: reason.into(),
    }
}

fn parse_switches(field: &'static str, v: &Value) -> Result<BTreeMap<Channel, bool>, DomainError> {
    let obj = v
        .as_object()
        .ok_or_else(|| field_err(field, "must be an object of channel -> boolean"))?;
    obj.iter()
        .map(|(k, v)| {
            let on = v
                .as_bool()
                .ok_or_else(|| field_err(field, format!("'{k}' must be true or false")))?;
            Ok((Channel::parse(k)?, on))
        })
        .collect()
}

impl PreferencePatch {
    /// Parses the native document, or the older flat form
    /// (`email_notifications`, `push_notifications`, `sms_notifications`, `categories: [..]`),
    /// where the listed categories are the ones the user opted out of.
    pub fn parse(v: &Value) -> Result<Self, DomainError> {
        let obj = v
            .as_object()
            .ok_or_else(|| field_err("preferences", "must be a JSON object"))?;
        let mut patch = Self::default();
        for (key, value) in obj {
            match key.as_str() {
                "channels" => patch.channels.extend(parse_switches("channels", value)?),
                "categories" => patch.parse_categories(value)?,
                "quiet_hours" => patch.quiet_hours = Some(parse_quiet_hours(value)?),
                "digest" => patch.digest = digest::parse_digest_section(value)?,
                flat if flat.ends_with("_notifications") => {
                    let channel = Channel::parse(flat.trim_end_matches("_notifications"))?;
                    let on = value.as_bool().ok_or_else(|| {
                        field_err("preferences", format!("'{flat}' must be a boolean"))
                    })?;
                    patch.channels.insert(channel, on);
                }
                other => {
                    return Err(field_err(
                        "preferences",
                        format!(
                            "unknown field '{other}'; expected channels, categories, quiet_hours or digest"
                        ),
                    ))
                }
            }
        }
        Ok(patch)
    }

    fn parse_categories(&mut self, value: &Value) -> Result<(), DomainError> {
        match value {
            Value::Object(map) => {
                for (name, sw) in map {
                    let cat = Category::parse(name.clone())?;
                    let switches = if sw.is_null() {
                        None
                    } else {
                        Some(parse_switches("categories", sw)?)
                    };
                    self.categories.insert(cat, switches);
                }
            }
            Value::Array(items) => {
                for item in items {
                    let name = item
                        .as_str()
                        .ok_or_else(|| field_err("categories", "list items must be strings"))?;
                    let off = Channel::ALL.iter().map(|c| (*c, false)).collect();
                    self.categories.insert(Category::parse(name)?, Some(off));
                }
            }
            _ => return Err(field_err("categories", "must be an object or a list")),
        }
        Ok(())
    }
}

fn parse_quiet_hours(v: &Value) -> Result<Option<QuietHours>, DomainError> {
    if v.is_null() {
        return Ok(None);
    }
    let get = |k: &str| {
        v.get(k).and_then(Value::as_str).ok_or_else(|| {
            DomainError::InvalidQuietHours(format!("'{k}' is required and must be a string"))
        })
    };
    Ok(Some(QuietHours::parse(
        get("start")?,
        get("end")?,
        get("timezone")?,
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cat(s: &str) -> Category {
        Category::parse(s).unwrap()
    }

    #[test]
    fn missing_channels_and_categories_mean_enabled() {
        let doc = PreferenceDocument::default();
        assert!(doc.allows(Channel::Email, &cat("marketing")));
    }

    #[test]
    fn a_disabled_category_channel_blocks_only_that_pair() {
        let mut doc = PreferenceDocument::default();
        doc.apply(
            PreferencePatch::parse(&json!({"categories": {"marketing": {"email": false}}}))
                .unwrap(),
        );
        assert!(!doc.allows(Channel::Email, &cat("marketing")));
        assert!(doc.allows(Channel::InApp, &cat("marketing")));
        assert!(doc.allows(Channel::Email, &cat("booking")));
    }

    #[test]
    fn patches_merge_and_null_removes() {
        let mut doc = PreferenceDocument::default();
        doc.apply(PreferencePatch::parse(&json!({"channels": {"sms": false}})).unwrap());
        doc.apply(PreferencePatch::parse(&json!({"channels": {"email": false}})).unwrap());
        assert!(!doc.allows(Channel::Sms, &cat("x")));
        assert!(!doc.allows(Channel::Email, &cat("x")));
        doc.apply(PreferencePatch::parse(&json!({"categories": {"m": {"push": false}}})).unwrap());
        doc.apply(PreferencePatch::parse(&json!({"categories": {"m": null}})).unwrap());
        assert!(doc.categories.is_empty());
    }

    #[test]
    fn seed_002_flat_form_is_understood() {
        let mut doc = PreferenceDocument::default();
        let flat = json!({"email_notifications": true, "push_notifications": false,
                          "sms_notifications": false, "categories": ["promotions"]});
        doc.apply(PreferencePatch::parse(&flat).unwrap());
        assert!(!doc.allows(Channel::Push, &cat("x")));
        assert!(doc.allows(Channel::Email, &cat("x")));
        assert!(!doc.allows(Channel::InApp, &cat("promotions")));
    }

    #[test]
    fn bad_documents_are_refused_with_the_field_named() {
        assert!(PreferencePatch::parse(&json!({"channels": {"pigeon": true}})).is_err());
        assert!(PreferencePatch::parse(&json!({"channels": {"email": "yes"}})).is_err());
        assert!(PreferencePatch::parse(&json!({"colour": "red"})).is_err());
        let bad_tz =
            json!({"quiet_hours": {"start": "22:00", "end": "07:00", "timezone": "Mars/Base"}});
        assert!(PreferencePatch::parse(&bad_tz).is_err());
    }
}
