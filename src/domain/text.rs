//! Checks on text from outside that every store must be able to hold.
//! PostgreSQL's `text` and `jsonb` cannot hold U+0000 while SQLite can, so the
//! same request would succeed on one database and fail with a 500 on the other.

use serde_json::Value;

/// Where the first U+0000 sits in a JSON document (`title`, `data.a[2]`, or
/// `data.<key>` when it is in a key), or `None` when there is none.
pub fn find_nul(value: &Value) -> Option<String> {
    find_nul_at(value, String::new())
}

fn find_nul_at(value: &Value, at: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(or_root(at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| find_nul_at(v, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                return Some(format!("a key in {}", or_root(at.clone())));
            }
            find_nul_at(v, here)
        }),
        _ => None,
    }
}

fn or_root(at: String) -> String {
    if at.is_empty() {
        "the body".into()
    } else {
        at
    }
}

/// True when `raw` holds a character no id may carry: C0/C1 controls, DEL, and U+0000.
pub fn has_control(raw: &str) -> bool {
    raw.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nul_is_found_in_nested_strings_and_keys() {
        assert_eq!(find_nul(&json!({"title": "a\u{0}b"})), Some("title".into()));
        assert_eq!(
            find_nul(&json!({"data": {"list": ["ok", "x\u{0}"]}})),
            Some("data.list[1]".into())
        );
        assert_eq!(
            find_nul(&json!({"data": {"k\u{0}": 1}})),
            Some("a key in data".into())
        );
        assert_eq!(find_nul(&json!("\u{0}")), Some("the body".into()));
    }

    #[test]
    fn documents_without_a_nul_pass() {
        assert_eq!(
            find_nul(&json!({"a": ["b", 1, null, {"c": "\\u0000"}]})),
            None
        );
    }

    #[test]
    fn control_characters_are_detected() {
        assert!(has_control("a\u{0}b"));
        assert!(has_control("a\nb"));
        assert!(has_control("a\u{7f}"));
        assert!(!has_control("evt-1:ok"));
    }
}
