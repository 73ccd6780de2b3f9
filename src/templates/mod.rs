//! Templates: per-channel parts rendered with minijinja.
//!
//! - Strict undefined: a missing variable is an error that names it, not a blank.
//! - HTML parts (`email.html`) autoescape: event data cannot inject markup.
//! - JSON parts (`push.data`, `webhook.body`, `in_app.data`, `in_app.tags`,
//!   `in_app.actions`, the chat layouts) JSON-encode every
//!   `{{ value }}`: event data cannot add keys or break out of a string.
//! - Fuel, recursion and output-size limits stop runaway templates.
//! - The loader is synchronous, so the current versions are preloaded from
//!   the database into one `Environment` that is swapped whenever a template changes.

mod bounded;
mod engine;
mod json_parts;
#[cfg(test)]
mod tests;

// The stored shapes live with persistence, which may not depend on the engine.
pub use crate::persistence::templates::{LoadedTemplate, TemplateParts, PART_NAMES};
pub use engine::{Rendered, TemplateEngine};
pub use json_parts::{is_json_part, JSON_PARTS};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// Instructions one render may execute before it is stopped.
pub const RENDER_FUEL: u64 = 100_000;
/// Nesting depth (includes, macros, recursion) before a render is stopped.
pub const RECURSION_LIMIT: usize = 64;
/// The locale tried after the user's own.
pub const FALLBACK_LOCALE: &str = "en";
/// The default cap on one part's rendered output (`template_max_output_bytes`).
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    #[error("{part}, line {line}: {message}")]
    Syntax {
        part: String,
        line: usize,
        message: String,
    },
    /// `"{{ x }}"` in a JSON part: the value is already JSON-encoded, so the
    /// quotes would wrap a string in a second pair and break the JSON.
    #[error(
        "{part}, line {line}: {{{{ … }}}} inside a JSON string; values in {part} are \
         JSON-encoded, so write {{{{ x }}}} without quotes (or {{{{ \"text \" ~ x }}}} to build a string)"
    )]
    QuotedJsonValue { part: String, line: usize },
    #[error("template '{0}' does not exist")]
    NotFound(String),
    #[error("template '{code}' has no {channel} part")]
    MissingPart { code: String, channel: String },
    #[error("rendering {part} failed: {message}")]
    Render { part: String, message: String },
    #[error("rendering {part} produced more than {limit} bytes")]
    OutputTooLarge { part: String, limit: usize },
}

/// A fresh environment with Herald's safety settings.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(RENDER_FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_auto_escape_callback(auto_escape);
    env
}

/// JSON parts by their part name; everything else by extension (`.html` escapes HTML).
fn auto_escape(name: &str) -> AutoEscape {
    match name.rsplit_once('/') {
        Some((_, part)) if is_json_part(part) => AutoEscape::Json,
        _ => minijinja::default_auto_escape_callback(name),
    }
}

/// Minijinja's name for a part: `code/locale/vN/channel.part`.
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

/// Compiles every part of `parts`, so a syntax error is refused at save time,
/// and refuses a JSON part that quotes an interpolation.
pub fn check(parts: &TemplateParts) -> Result<(), TemplateError> {
    let mut env = environment();
    for (part, source) in parts.iter() {
        env.add_template_owned(part_name("check", "x", 0, part), source.to_string())
            .map_err(|e| TemplateError::Syntax {
                part: part.to_string(),
                line: e.line().unwrap_or(1),
                message: describe(&e),
            })?;
        if is_json_part(part) {
            if let Some(line) = json_parts::quoted_interpolation(source) {
                return Err(TemplateError::QuotedJsonValue {
                    part: part.to_string(),
                    line,
                });
            }
        }
    }
    Ok(())
}
