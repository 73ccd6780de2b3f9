//! Template checking and rendering with fuzzed sources and variables, plus
//! rule conditions: what an admin saves and what an event's payload feeds in.
//! Input: `part selector` NUL `template source` NUL `variables (JSON)` NUL `condition`.
#![no_main]

use herald::templates::{
    check, LoadedTemplate, TemplateEngine, TemplateError, TemplateParts, PART_NAMES,
};
use herald_fuzz::text_fields;
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Map, Value};

fuzz_target!(|data: &[u8]| {
    let Some([selector, source, vars, condition]) = text_fields::<4>(data) else {
        return;
    };
    let name = PART_NAMES[selector.bytes().next().unwrap_or(0) as usize % PART_NAMES.len()];
    let Some((channel, part)) = name.split_once('.') else {
        return;
    };
    let vars = match serde_json::from_str::<Value>(vars) {
        Ok(Value::Object(obj)) => Value::Object(obj),
        Ok(other) => json!({ "value": other }),
        Err(_) => Value::Object(Map::new()),
    };
    let _ = TemplateEngine::condition(condition, &vars);

    let Ok(parts) = TemplateParts::parse(&json!({ channel: { part: source } })) else {
        return;
    };
    let checked = check(&parts);
    // A JSON part that quotes a value is refused when saved, but one already
    // stored still loads (and fails when rendered), so such a part counts as loadable.
    let compiles = matches!(checked, Ok(()) | Err(TemplateError::QuotedJsonValue { .. }));
    let engine = TemplateEngine::new();
    engine.load(vec![LoadedTemplate {
        code: "t".into(),
        locale: "en".into(),
        version: 1,
        parts,
    }]);
    let rendered = engine.render("t", Some("en"), channel, &vars);
    // Save-time checking and loading must agree: a part that passed `check`
    // is in the catalog, and one that failed it is skipped.
    match rendered {
        Err(TemplateError::NotFound(_)) => panic!("a loaded template was not found"),
        Err(TemplateError::MissingPart { .. }) => assert!(!compiles, "a checked part was dropped"),
        Ok(r) => {
            assert!(compiles, "a part that failed check rendered");
            assert!(r.parts.contains_key(part));
        }
        Err(_) => assert!(compiles, "a part that failed check was rendered"),
    }
});
