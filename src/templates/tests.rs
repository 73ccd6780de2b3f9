use super::*;
use serde_json::json;

fn engine(parts: serde_json::Value) -> TemplateEngine {
    let e = TemplateEngine::new();
    e.load(vec![LoadedTemplate {
        code: "t".into(),
        locale: "en".into(),
        version: 1,
        parts: TemplateParts::parse(&parts).unwrap(),
    }]);
    e
}

#[test]
fn html_parts_escape_event_data_and_text_parts_do_not() {
    let e = engine(
        json!({"email": {"subject": "Hi {{ name }}", "html": "<p>{{ name }}</p>", "text": "{{ name }}"}}),
    );
    let r = e
        .render("t", None, "email", &json!({"name": "<script>x</script>"}))
        .unwrap();
    assert_eq!(
        r.parts["html"],
        "<p>&lt;script&gt;x&lt;&#x2f;script&gt;</p>"
    );
    assert_eq!(r.parts["text"], "<script>x</script>");
}

#[test]
fn a_missing_variable_is_an_error_that_names_it() {
    let e = engine(json!({"sms": {"text": "Booking {{ booking_id }}"}}));
    let err = e.render("t", None, "sms", &json!({})).unwrap_err();
    assert!(matches!(err, TemplateError::Render { .. }));
    assert!(err.to_string().contains("undefined"), "{err}");
}

#[test]
fn a_runaway_template_is_stopped() {
    let e = engine(
        json!({"sms": {"text": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"}}),
    );
    let err = e.render("t", None, "sms", &json!({})).unwrap_err();
    assert!(err.to_string().to_lowercase().contains("fuel"), "{err}");
}

#[test]
fn syntax_errors_name_the_part_and_line() {
    let parts =
        TemplateParts::parse(&json!({"email": {"subject": "ok", "html": "<p>\n{% if %}</p>"}}))
            .unwrap();
    match check(&parts) {
        Err(TemplateError::Syntax { part, line, .. }) => {
            assert_eq!((part.as_str(), line), ("email.html", 2))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_users_locale_wins_then_its_language_then_english() {
    let e = TemplateEngine::new();
    let t = |locale: &str, text: &str| LoadedTemplate {
        code: "t".into(),
        locale: locale.into(),
        version: 1,
        parts: TemplateParts::parse(&json!({"sms": {"text": text}})).unwrap(),
    };
    e.load(vec![t("en", "hello"), t("fr", "bonjour")]);
    assert_eq!(
        e.render("t", Some("fr-CA"), "sms", &json!({}))
            .unwrap()
            .parts["text"],
        "bonjour"
    );
    assert_eq!(
        e.render("t", Some("de"), "sms", &json!({})).unwrap().parts["text"],
        "hello"
    );
}

#[test]
fn conditions_evaluate_over_the_event() {
    let ev = json!({"refund_eligible": true, "refund_amount": 30.0});
    assert!(TemplateEngine::condition("refund_eligible and refund_amount > 0", &ev).unwrap());
    assert!(!TemplateEngine::condition("refund_amount > 100", &ev).unwrap());
    assert!(TemplateEngine::condition("nope >", &ev).is_err());
}

fn push_data(e: &TemplateEngine, vars: serde_json::Value) -> serde_json::Value {
    let r = e.render("t", None, "push", &vars).unwrap();
    serde_json::from_str(&r.parts["data"]).unwrap()
}

#[test]
fn an_event_field_cannot_add_keys_to_a_json_part() {
    let e = engine(json!({"push": {"title": "Hi {{ name }}", "data": "{\"name\": {{ name }}}"}}));
    let hostile = r#"x","admin":true,"y":""#;
    let data = push_data(&e, json!({ "name": hostile }));
    assert_eq!(
        data,
        json!({ "name": hostile }),
        "the whole field is one value"
    );
    let r = e
        .render("t", None, "push", &json!({"name": "Ada"}))
        .unwrap();
    assert_eq!(
        r.parts["title"], "Hi Ada",
        "text parts are not JSON-encoded"
    );
}

#[test]
fn json_parts_keep_each_values_type_and_tojson_is_not_encoded_twice() {
    let e = engine(json!({"webhook": {"body":
        "{\"n\": {{ n }}, \"tags\": {{ tags }}, \"user\": {{ user|tojson }}, \"label\": {{ \"seat \" ~ seat }}}"}}));
    let vars = json!({"n": 3, "tags": ["a", "b"], "user": {"id": "u1"}, "seat": "B7"});
    let r = e.render("t", None, "webhook", &vars).unwrap();
    let body: serde_json::Value = serde_json::from_str(&r.parts["body"]).unwrap();
    assert_eq!(
        body,
        json!({"n": 3, "tags": ["a", "b"], "user": {"id": "u1"}, "label": "seat B7"})
    );
}

#[test]
fn a_quoted_interpolation_in_a_json_part_is_refused_at_save_time() {
    let parts = TemplateParts::parse(
        &json!({"push": {"title": "\"{{ x }}\"", "data": "{\n\"level\": \"{{ level }}\"}"}}),
    )
    .unwrap();
    match check(&parts) {
        Err(TemplateError::QuotedJsonValue { part, line }) => {
            assert_eq!((part.as_str(), line), ("push.data", 2))
        }
        other => panic!("{other:?}"),
    }
    let unquoted = TemplateParts::parse(
        &json!({"push": {"title": "\"{{ x }}\"", "data": "{\"level\": {{ level }}}"}}),
    )
    .unwrap();
    assert_eq!(check(&unquoted), Ok(()), "quotes in a text part are text");
}

#[test]
fn a_render_past_the_output_cap_fails_and_one_at_the_cap_succeeds() {
    let load = |text: &str| {
        let e = TemplateEngine::new().with_max_output(1000);
        e.load(vec![LoadedTemplate {
            code: "t".into(),
            locale: "en".into(),
            version: 1,
            parts: TemplateParts::parse(&json!({"sms": {"text": text}})).unwrap(),
        }]);
        e
    };
    let at_cap = load("{{ \"x\" * 1000 }}").render("t", None, "sms", &json!({}));
    assert_eq!(at_cap.unwrap().parts["text"].len(), 1000);
    for over in [
        "{{ \"x\" * 1001 }}",
        "{% for i in range(600) %}ab{% endfor %}",
    ] {
        let err = load(over).render("t", None, "sms", &json!({})).unwrap_err();
        assert_eq!(
            err,
            TemplateError::OutputTooLarge {
                part: "sms.text".into(),
                limit: 1000
            },
            "{over}"
        );
    }
}

#[test]
fn the_default_cap_stops_a_megabyte_that_fuel_allows_and_fuel_stops_a_hundred_megabytes() {
    let e = engine(json!({"sms": {"text": "{{ \"x\" * 1000000 }}"}}));
    let err = e.render("t", None, "sms", &json!({})).unwrap_err();
    assert!(
        matches!(err, TemplateError::OutputTooLarge { limit, .. } if limit == DEFAULT_MAX_OUTPUT_BYTES),
        "{err}"
    );
    // Minijinja charges fuel for every byte a value would take, before allocating it.
    let e = engine(json!({"sms": {"text": "{% set s = \"x\" * 100000000 %}{{ s[:1] }}"}}));
    let err = e.render("t", None, "sms", &json!({})).unwrap_err();
    assert!(err.to_string().contains("fuel"), "{err}");
}
