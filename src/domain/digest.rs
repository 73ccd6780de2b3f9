//! Digests and throttles as a rule declares them, parsed once at the edge.

use super::{rule::lookup, DomainError, Span};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The most items any digest may hold, whatever the settings say.
pub const MAX_DIGEST_ITEMS: u32 = 10_000;
/// Longest digest key kept (characters); a longer rendered key is cut.
const MAX_KEY_CHARS: usize = 200;

fn invalid(field: &'static str, reason: impl Into<String>) -> DomainError {
    DomainError::InvalidField {
        field,
        reason: reason.into(),
    }
}

/// What separates one digest bucket from another for the same user and rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestKey {
    /// No key: one bucket per user and rule.
    None,
    /// A dot path into the event (`booking.id`).
    Path(String),
    /// A template expression rendered over the event (`{{ booking_id }}`);
    /// the caller checks that it compiles.
    Template(String),
}

impl DigestKey {
    pub fn parse(raw: Option<&str>) -> Result<Self, DomainError> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(Self::None);
        };
        if raw.len() > 512 {
            return Err(invalid("digest.key", "is longer than 512 characters"));
        }
        if raw.contains("{{") {
            return Ok(Self::Template(raw.to_string()));
        }
        let path_ok = raw.split('.').all(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        path_ok.then(|| Self::Path(raw.to_string())).ok_or_else(|| {
            invalid(
                "digest.key",
                format!("'{raw}' is neither a dot path like booking.id nor a {{{{ template }}}}"),
            )
        })
    }

    /// The path's value as text; a missing field or an object is the empty key.
    pub fn from_path(payload: &Value, path: &str) -> String {
        let text = match lookup(payload, path) {
            Some(Value::String(s)) => s.clone(),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
            _ => String::new(),
        };
        Self::bounded(text)
    }

    /// Cuts a key to its stored length.
    pub fn bounded(text: String) -> String {
        text.chars().take(MAX_KEY_CHARS).collect()
    }

    pub fn as_input(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Path(p) | Self::Template(p) => Some(p),
        }
    }
}

/// A rule's digest: events in `window` fold into one notification per (user, rule, key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestSpec {
    key: DigestKey,
    window: Span,
    /// Items after which the bucket flushes early; `None` uses the setting.
    max_items: Option<u32>,
}

impl DigestSpec {
    pub fn new(key: DigestKey, window: Span, max_items: Option<u32>) -> Result<Self, DomainError> {
        if let Some(n) = max_items {
            if n == 0 || n > MAX_DIGEST_ITEMS {
                return Err(invalid(
                    "digest.max_items",
                    format!("must be 1 to {MAX_DIGEST_ITEMS}"),
                ));
            }
        }
        Ok(Self {
            key,
            window,
            max_items,
        })
    }

    /// The digest a throttle's excess goes to when its rule has none: one bucket per user, the throttle's window.
    pub fn for_throttle(t: &Throttle) -> Self {
        Self {
            key: DigestKey::None,
            window: t.window,
            max_items: None,
        }
    }

    pub fn key(&self) -> &DigestKey {
        &self.key
    }
    pub fn window(&self) -> Span {
        self.window
    }
    /// The rule's own cap, else `default`; never above `cap`.
    pub fn max_items(&self, default: u32, cap: u32) -> u32 {
        self.max_items.unwrap_or(default).min(cap).max(1)
    }
    pub fn max_items_input(&self) -> Option<u32> {
        self.max_items
    }
}

/// What a throttle counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThrottleScope {
    Rule,
    Category,
}

/// What happens to a notification beyond the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Excess {
    Drop,
    Digest,
}

/// At most `limit` notifications per user per `window`, for the rule or its category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Throttle {
    limit: u32,
    window: Span,
    scope: ThrottleScope,
    excess: Excess,
}

impl Throttle {
    pub fn new(
        limit: u32,
        window: Span,
        scope: ThrottleScope,
        excess: Excess,
    ) -> Result<Self, DomainError> {
        if limit == 0 || limit > 1_000_000 {
            return Err(invalid("throttle.limit", "must be 1 to 1000000"));
        }
        Ok(Self {
            limit,
            window,
            scope,
            excess,
        })
    }
    pub fn limit(&self) -> u32 {
        self.limit
    }
    pub fn window(&self) -> Span {
        self.window
    }
    pub fn scope(&self) -> ThrottleScope {
        self.scope
    }
    pub fn excess(&self) -> Excess {
        self.excess
    }
}

/// A rule's `digest` as the API and packs write it.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DigestInput {
    /// A dot path (`booking.id`) or a template (`{{ booking_id }}`) naming the bucket; absent: one per user and rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// How long a bucket stays open from its first event: `90s`, `10m`, `2h`, `1d`.
    pub window: String,
    /// Items after which the bucket flushes early (default and cap are settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10000)]
    pub max_items: Option<u32>,
}

/// A rule's `throttle` as the API and packs write it.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottleInput {
    /// Most notifications per user per window.
    #[schema(minimum = 1)]
    pub limit: u32,
    /// `90s`, `10m`, `1h`, `1d`.
    pub window: String,
    /// What is counted: this rule's notifications (default) or its category's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<ThrottleScope>,
    /// Beyond the limit: `drop` (default) or `digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excess: Option<Excess>,
}

/// Reads an optional JSON section (`null` and absent are none) as `T`.
fn section<T: serde::de::DeserializeOwned>(
    field: &'static str,
    v: Option<&Value>,
) -> Result<Option<T>, DomainError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| invalid(field, e.to_string())),
    }
}

impl DigestSpec {
    pub fn parse(v: Option<&Value>) -> Result<Option<Self>, DomainError> {
        let Some(input) = section::<DigestInput>("digest", v)? else {
            return Ok(None);
        };
        let window = Span::parse(&input.window)?;
        Self::new(
            DigestKey::parse(input.key.as_deref())?,
            window,
            input.max_items,
        )
        .map(Some)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(DigestInput {
            key: self.key.as_input().map(str::to_string),
            window: self.window.to_string(),
            max_items: self.max_items,
        })
        .unwrap_or(Value::Null)
    }
}

impl Throttle {
    pub fn parse(v: Option<&Value>) -> Result<Option<Self>, DomainError> {
        let Some(input) = section::<ThrottleInput>("throttle", v)? else {
            return Ok(None);
        };
        Self::new(
            input.limit,
            Span::parse(&input.window)?,
            input.scope.unwrap_or(ThrottleScope::Rule),
            input.excess.unwrap_or(Excess::Drop),
        )
        .map(Some)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(ThrottleInput {
            limit: self.limit,
            window: self.window.to_string(),
            scope: Some(self.scope),
            excess: Some(self.excess),
        })
        .unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digest_keys_are_paths_templates_or_nothing() {
        assert_eq!(DigestKey::parse(None).unwrap(), DigestKey::None);
        assert_eq!(
            DigestKey::parse(Some("booking.id")).unwrap(),
            DigestKey::Path("booking.id".into())
        );
        assert!(matches!(
            DigestKey::parse(Some("{{ booking_id }}")).unwrap(),
            DigestKey::Template(_)
        ));
        assert!(DigestKey::parse(Some("booking id")).is_err());
        assert!(DigestKey::parse(Some("a..b")).is_err());
    }

    #[test]
    fn a_path_key_reads_strings_and_numbers_and_misses_as_empty() {
        let p = json!({"booking": {"id": 42, "ref": "B-1"}});
        assert_eq!(DigestKey::from_path(&p, "booking.id"), "42");
        assert_eq!(DigestKey::from_path(&p, "booking.ref"), "B-1");
        assert_eq!(DigestKey::from_path(&p, "booking.nope"), "");
        assert_eq!(DigestKey::from_path(&p, "booking"), "");
    }

    #[test]
    fn max_items_falls_back_to_the_default_and_never_passes_the_cap() {
        let w = Span::parse("10m").unwrap();
        assert_eq!(
            DigestSpec::new(DigestKey::None, w, None)
                .unwrap()
                .max_items(50, 500),
            50
        );
        assert_eq!(
            DigestSpec::new(DigestKey::None, w, Some(900))
                .unwrap()
                .max_items(50, 500),
            500
        );
        assert!(DigestSpec::new(DigestKey::None, w, Some(0)).is_err());
        assert!(DigestSpec::new(DigestKey::None, w, Some(MAX_DIGEST_ITEMS + 1)).is_err());
    }

    #[test]
    fn rule_sections_parse_and_print_back() {
        let d = DigestSpec::parse(Some(
            &json!({"key": "{{ booking_id }}", "window": "10m", "max_items": 50}),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(DigestSpec::parse(Some(&d.to_json())).unwrap(), Some(d));
        assert_eq!(DigestSpec::parse(Some(&Value::Null)).unwrap(), None);
        for bad in [
            json!({"window": "soon"}),
            json!({"window": "1h", "colour": 1}),
            json!("1h"),
            json!({"window": "1h", "max_items": -1}),
        ] {
            assert!(DigestSpec::parse(Some(&bad)).is_err(), "{bad}");
        }
        let t = Throttle::parse(Some(&json!({"limit": 3, "window": "1h"})))
            .unwrap()
            .unwrap();
        assert_eq!((t.scope(), t.excess()), (ThrottleScope::Rule, Excess::Drop));
        assert_eq!(Throttle::parse(Some(&t.to_json())).unwrap(), Some(t));
        for bad in [
            json!({"limit": 0, "window": "1h"}),
            json!({"limit": 3, "window": "1h", "scope": "team"}),
            json!({"limit": 3, "window": "1h", "excess": "queue"}),
            json!({"limit": 3}),
        ] {
            assert!(Throttle::parse(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_throttle_needs_a_positive_limit() {
        let w = Span::parse("1h").unwrap();
        assert!(Throttle::new(0, w, ThrottleScope::Rule, Excess::Drop).is_err());
        let t = Throttle::new(3, w, ThrottleScope::Category, Excess::Digest).unwrap();
        assert_eq!(DigestSpec::for_throttle(&t).window(), w);
    }
}
