//! The catalog of current template versions and rendering against it.

use super::json_parts::{is_json_part, quoted_interpolation};
use super::{bounded, describe, environment, part_name, LoadedTemplate, TemplateError};
use super::{DEFAULT_MAX_OUTPUT_BYTES, FALLBACK_LOCALE};
use minijinja::Environment;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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
    /// Most bytes one part may render to.
    max_output: usize,
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
            max_output: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }

    /// Caps each rendered part at `bytes` (`template_max_output_bytes`).
    pub fn with_max_output(mut self, bytes: usize) -> Self {
        self.max_output = bytes.max(1);
        self
    }

    /// Replaces the catalog with `templates`. A stored template that no longer
    /// compiles is skipped and logged, so one bad row cannot stop the rest.
    pub fn load(&self, templates: Vec<LoadedTemplate>) {
        let mut env = environment();
        let mut index = HashMap::new();
        for t in templates {
            let mut names = vec![];
            for (part, source) in t.parts.iter() {
                // Saved before JSON parts were JSON-encoded: it still loads, but
                // its renders fail until it is saved again without the quotes.
                if is_json_part(part) && quoted_interpolation(source).is_some() {
                    tracing::warn!(code = %t.code, part, "stored template quotes a value in a JSON part; save it again without the quotes");
                }
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
            let ctx = minijinja::Value::from(minijinja::value::Serde(vars));
            let text = bounded::render(&tmpl, ctx, name, self.max_output)?;
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
