//! A template's rendered `in_app.tags` and `in_app.actions`, parsed with the
//! same domain types (and limits) as a `/send`'s `tags` and `actions`, so an
//! event notification cannot carry anything `/send` would refuse.

use crate::domain::{ActionInput, Actions, Tags};
use serde_json::Value;

/// `in_app.tags`: a JSON list of tag strings.
pub fn tags(rendered: &str) -> Result<Tags, String> {
    let raw: Vec<String> = match json(rendered, "tags")? {
        None => return Ok(Tags::default()),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(format!(
                    "in_app.tags must render to a JSON list of strings, not one holding {}",
                    kind(&other)
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(not_a_list("tags", &other)),
    };
    Tags::parse(raw).map_err(|e| format!("in_app.tags: {e}"))
}

/// `in_app.actions`: a JSON list of `{label, url}` or `{label, event}` objects.
pub fn actions(rendered: &str) -> Result<Actions, String> {
    let items = match json(rendered, "actions")? {
        None => return Ok(Actions::default()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(not_a_list("actions", &other)),
    };
    let raw: Vec<ActionInput> = items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value(v).map_err(|e| {
                format!("in_app.actions[{i}] must be {{label, url}} or {{label, event}} ({e})")
            })
        })
        .collect::<Result<_, _>>()?;
    Actions::parse(raw).map_err(|e| format!("in_app.actions: {e}"))
}

/// The part as JSON; `None` when it rendered to nothing (an `{% if %}` that did not apply).
fn json(rendered: &str, part: &str) -> Result<Option<Value>, String> {
    if rendered.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(rendered).map(Some).map_err(|e| {
        format!(
            "in_app.{part} is not JSON ({e}); its {{{{ values }}}} are JSON-encoded, so they need no quotes"
        )
    })
}

fn not_a_list(part: &str, v: &Value) -> String {
    format!("in_app.{part} must render to a JSON list, not {}", kind(v))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NotificationAction;

    #[test]
    fn tags_render_from_a_list_of_strings_and_keep_the_send_limits() {
        let t = tags(r#"["booking", "city:paris", "booking"]"#).unwrap();
        let names: Vec<&str> = t.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["booking", "city:paris"]);
        assert!(tags("  ").unwrap().is_empty());
        for bad in [
            r#""booking""#,
            r#"{"a": "b"}"#,
            r#"["ok", 3]"#,
            r#"["has space"]"#,
            r#"["a","b","c","d","e","f","g","h","i","j","k"]"#,
            r#"["a"] extra"#,
        ] {
            let e = tags(bad).unwrap_err();
            assert!(e.starts_with("in_app.tags"), "{bad}: {e}");
        }
    }

    #[test]
    fn actions_render_to_at_most_two_buttons_with_exactly_one_target() {
        let a = actions(
            r#"[{"label": "View", "url": "/bookings/7"}, {"label": "Cancel", "event": "booking.cancel"}]"#,
        )
        .unwrap();
        assert_eq!(
            a.get(0),
            Some(&NotificationAction::Url {
                label: "View".into(),
                url: "/bookings/7".into()
            })
        );
        assert!(actions("").unwrap().is_empty());
        for (bad, says) in [
            (
                r#"[{"label": "x", "url": "/a", "event": "a.b"}]"#,
                "exactly one of url and event",
            ),
            (
                r#"[{"label": "a", "url": "/a"}, {"label": "b", "url": "/b"}, {"label": "c", "url": "/c"}]"#,
                "at most 2",
            ),
            (r#"[{"label": "x", "url": "javascript:alert(1)"}]"#, "url"),
            (
                r#"[{"label": "x", "url": "/a", "style": "red"}]"#,
                "unknown field",
            ),
            (r#"["View"]"#, "{label, url} or {label, event}"),
            (
                r#"{"label": "x", "url": "/a"}"#,
                "must render to a JSON list",
            ),
        ] {
            let e = actions(bad).unwrap_err();
            assert!(
                e.starts_with("in_app.actions") && e.contains(says),
                "{bad}: {e}"
            );
        }
    }
}
