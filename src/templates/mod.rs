//! Templates: per-channel parts rendered with minijinja.
//!
//! - Strict undefined: a missing variable is an error that names it, not a blank.
//! - HTML parts (`email.html`) autoescape: event data cannot inject markup.
//! - Fuel and recursion limits stop runaway templates.
//! - The loader is synchronous, so the current versions are preloaded from
//!   the database into one `Environment` that is swapped whenever a template changes.

// The stored shapes live with persistence, which may not depend on the engine.
pub use crate::persistence::templates::{LoadedTemplate, TemplateParts, PART_NAMES};

use minijinja::{Environment, UndefinedBehavior};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Instructions one render may execute before it is stopped.
pub const RENDER_FUEL: u64 = 100_000;
/// Nesting depth (includes, macros, recursion) before a render is stopped.
pub const RECURSION_LIMIT: usize = 64;
/// The locale tried after the user's own.
pub const FALLBACK_LOCALE: &str = "en";

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    #[error("{part}, line {line}: {message}")]
    Syntax {
        part: String,
        line: usize,
        message: String,
    },
    #[error("template '{0}' does not exist")]
    NotFound(String),
    #[error("template '{code}' has no {channel} part")]
    MissingPart { code: String, channel: String },
    #[error("rendering {part} failed: {message}")]
    Render { part: String, message: String },
}

/// A fresh environment with Herald's safety settings.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(RENDER_FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env
}

/// Minijinja's name for a part. Names ending in `.html` autoescape.
fn part_name(code: &str, locale: &str, version: i32, part: &str) -> String {
    format!("{code}/{locale}/v{version}/{part}")
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    msg
}

/// Compiles every part of `parts`, so a syntax error is refused at save time.
pub fn check(parts: &TemplateParts) -> Result<(), TemplateError> {
    let mut env = environment();
    for (part, source) in parts.iter() {
        env.add_template_owned(part_name("check", "x", 0, part), source.to_string())
            .map_err(|e| TemplateError::Syntax {
                part: part.to_string(),
                line: e.line().unwrap_or(1),
                message: describe(&e),
            })?;
    }
    Ok(())
}

/// The rendered parts of one channel, by part name (`title`, `body`, `html`, …).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rendered {
    pub code: String,
    pub version: i32,
    pub locale: String,
    pub parts: HashMap<String, String>,
}

struct Catalog {
    env: Environment<'static>,
    /// (code, locale) -> (version, part names present)
    index: HashMap<(String, String), (i32, Vec<String>)>,
}

/// All current template versions, compiled once and shared by every render.
#[derive(Clone)]
pub struct TemplateEngine {
    catalog: Arc<RwLock<Arc<Catalog>>>,
}

impl Default for TemplateEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl TemplateEngine {
    pub fn new() -> Self {
        Self {
            catalog: Arc::new(RwLock::new(Arc::new(Catalog {
                env: environment(),
                index: HashMap::new(),
            }))),
        }
    }

    /// Replaces the catalog with `templates`. A stored template that no longer
    /// compiles is skipped and logged, so one bad row cannot stop the rest.
    pub fn load(&self, templates: Vec<LoadedTemplate>) {
        let mut env = environment();
        let mut index = HashMap::new();
        for t in templates {
            let mut names = vec![];
            for (part, source) in t.parts.iter() {
                match env.add_template_owned(
                    part_name(&t.code, &t.locale, t.version, part),
                    source.to_string(),
                ) {
                    Ok(()) => names.push(part.to_string()),
                    Err(e) => {
                        tracing::warn!(code = %t.code, part, error = %e, "stored template does not compile")
                    }
                }
            }
            index.insert((t.code, t.locale), (t.version, names));
        }
        let fresh = Arc::new(Catalog { env, index });
        if let Ok(mut guard) = self.catalog.write() {
            *guard = fresh;
        }
    }

    fn snapshot(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The locales tried for `preferred`: `fr-CA`, then `fr`, then `en`.
    pub fn locale_chain(preferred: Option<&str>) -> Vec<String> {
        let mut chain = vec![];
        if let Some(p) = preferred {
            chain.push(p.to_string());
            if let Some((lang, _)) = p.split_once('-') {
                chain.push(lang.to_string());
            }
        }
        chain.push(FALLBACK_LOCALE.to_string());
        chain
    }

    pub fn exists(&self, code: &str) -> bool {
        self.snapshot().index.keys().any(|(c, _)| c == code)
    }

    /// Renders `channel`'s parts of template `code` in the first available locale.
    pub fn render(
        &self,
        code: &str,
        preferred_locale: Option<&str>,
        channel: &str,
        vars: &serde_json::Value,
    ) -> Result<Rendered, TemplateError> {
        let cat = self.snapshot();
        let chain = Self::locale_chain(preferred_locale);
        let (locale, (version, names)) = chain
            .iter()
            .find_map(|l| {
                cat.index
                    .get(&(code.to_string(), l.clone()))
                    .map(|v| (l.clone(), v))
            })
            .or_else(|| {
                // No locale in the chain: any locale beats nothing.
                cat.index
                    .iter()
                    .find(|((c, _), _)| c == code)
                    .map(|((_, l), v)| (l.clone(), v))
            })
            .ok_or_else(|| TemplateError::NotFound(code.to_string()))?;
        let prefix = format!("{channel}.");
        let mut out = Rendered {
            code: code.to_string(),
            version: *version,
            locale: locale.clone(),
            parts: HashMap::new(),
        };
        for name in names.iter().filter(|n| n.starts_with(&prefix)) {
            let tmpl = cat
                .env
                .get_template(&part_name(code, &locale, *version, name))
                .map_err(|e| TemplateError::Render {
                    part: name.clone(),
                    message: describe(&e),
                })?;
            let text = tmpl
                .render(minijinja::Value::from(minijinja::value::Serde(vars)))
                .map_err(|e| TemplateError::Render {
                    part: name.clone(),
                    message: describe(&e),
                })?;
            out.parts.insert(name[prefix.len()..].to_string(), text);
        }
        if out.parts.is_empty() {
            return Err(TemplateError::MissingPart {
                code: code.to_string(),
                channel: channel.to_string(),
            });
        }
        Ok(out)
    }

    /// Evaluates a rule condition such as `refund_eligible and refund_amount > 0`.
    pub fn condition(expr: &str, vars: &serde_json::Value) -> Result<bool, TemplateError> {
        let env = environment();
        let compiled = env
            .compile_expression(expr)
            .map_err(|e| TemplateError::Syntax {
                part: "condition".into(),
                line: e.line().unwrap_or(1),
                message: describe(&e),
            })?;
        compiled
            .eval(minijinja::Value::from(minijinja::value::Serde(vars)))
            .map(|v| v.is_true())
            .map_err(|e| TemplateError::Render {
                part: "condition".into(),
                message: describe(&e),
            })
    }
}

#[cfg(test)]
mod tests {
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
}
