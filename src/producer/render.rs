//! Content per channel: a `/send`'s own title and body, or a stored template
//! rendered in the recipient's locale.

use super::{in_app_parts, Content, ProducerError};
use crate::domain::{Actions, Channel, Tags};
use crate::templates::TemplateEngine;
use serde_json::Value;

/// One channel's rendered content, before addressing.
#[derive(Clone, Debug, PartialEq)]
pub enum Rendered {
    InApp {
        title: String,
        body: String,
        action_url: Option<String>,
        /// The template's `in_app.data` object: what it declares, nothing else.
        data: Option<Value>,
        /// The template's `in_app.tags` and `in_app.actions`; a `/send`'s own win.
        tags: Tags,
        actions: Actions,
    },
    Email {
        subject: String,
        text: String,
        html: Option<String>,
    },
    Sms {
        text: String,
    },
    Push {
        title: String,
        body: String,
        data: Option<Value>,
    },
    /// Slack, Discord or Teams: the words, and the template's own service part.
    Chat {
        title: String,
        body: String,
        action_url: Option<String>,
        part: Option<Value>,
    },
    /// `None`: the template has no webhook body, so endpoints get the event itself.
    Webhook {
        body: Option<Value>,
    },
}

/// Renders `channel`, returning the template (code, version) that made it.
pub fn render(
    templates: &TemplateEngine,
    content: &Content,
    channel: Channel,
    locale: Option<&str>,
) -> Result<(Rendered, Option<(String, i32)>), ProducerError> {
    match content {
        Content::Plain {
            title,
            body,
            action_url,
            data,
        } => Ok((plain(channel, title, body, action_url, data), None)),
        Content::Template {
            code,
            vars,
            in_app_overrides,
            ..
        } if channel.is_chat() => chat(templates, code, vars, in_app_overrides, channel, locale),
        Content::Template {
            code,
            vars,
            in_app_overrides,
            ..
        } => {
            let r = templates
                .render(code, locale, template_section(channel), vars)
                .map_err(|e| ProducerError::Render {
                    template: code.clone(),
                    message: e.to_string(),
                })?;
            let part = |n: &str| r.parts.get(n).cloned().unwrap_or_default();
            let json_part = |n: &str| -> Result<Option<Value>, ProducerError> {
                r.parts
                    .get(n)
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| serde_json::from_str::<Value>(s))
                    .transpose()
                    .map_err(|e| ProducerError::Render {
                        template: code.clone(),
                        message: format!(
                            "{channel}.{n} is not JSON ({e}); its {{{{ values }}}} are JSON-encoded, so they need no quotes"
                        ),
                    })
            };
            let rendered = match channel {
                Channel::InApp => {
                    let o = in_app_overrides;
                    let parsed = |n: &str| r.parts.get(n).map(String::as_str).unwrap_or_default();
                    let invalid = |message: String| ProducerError::Render {
                        template: code.clone(),
                        message,
                    };
                    Rendered::InApp {
                        tags: in_app_parts::tags(parsed("tags")).map_err(invalid)?,
                        actions: in_app_parts::actions(parsed("actions")).map_err(invalid)?,
                        title: o.0.clone().unwrap_or_else(|| part("title")),
                        body: o.1.clone().unwrap_or_else(|| part("body")),
                        action_url: o.2.clone().or_else(|| r.parts.get("action_url").cloned()),
                        data: match json_part("data")? {
                            Some(d) if !d.is_object() => {
                                return Err(ProducerError::Render {
                                    template: code.clone(),
                                    message: "in_app.data must render to a JSON object".into(),
                                })
                            }
                            d => d,
                        },
                    }
                }
                Channel::Email => Rendered::Email {
                    subject: part("subject"),
                    text: part("text"),
                    html: r.parts.get("html").cloned(),
                },
                Channel::Sms => Rendered::Sms { text: part("text") },
                Channel::Push | Channel::WebPush => Rendered::Push {
                    title: part("title"),
                    body: part("body"),
                    data: json_part("data")?,
                },
                Channel::Webhook => Rendered::Webhook {
                    body: json_part("body")?,
                },
                Channel::Slack | Channel::Discord | Channel::Teams => {
                    return chat(templates, code, vars, in_app_overrides, channel, locale)
                }
            };
            Ok((rendered, Some((r.code.clone(), r.version))))
        }
    }
}

/// The template parts a channel renders: Web Push shows what a native push
/// shows, so it reads the template's `push` parts rather than a section of its own.
fn template_section(channel: Channel) -> &'static str {
    match channel {
        Channel::WebPush => Channel::Push.as_str(),
        other => other.as_str(),
    }
}

/// The same words on every channel: the email subject is the title, an SMS is
/// the body (or the title when there is no body).
fn plain(
    channel: Channel,
    title: &str,
    body: &str,
    action_url: &Option<String>,
    data: &Value,
) -> Rendered {
    match channel {
        Channel::InApp => Rendered::InApp {
            title: title.to_string(),
            body: body.to_string(),
            action_url: action_url.clone(),
            data: None,
            tags: Tags::default(),
            actions: Actions::default(),
        },
        Channel::Email => Rendered::Email {
            subject: title.to_string(),
            text: body.to_string(),
            html: None,
        },
        Channel::Sms => Rendered::Sms {
            text: if body.is_empty() { title } else { body }.to_string(),
        },
        Channel::Push | Channel::WebPush => Rendered::Push {
            title: title.to_string(),
            body: body.to_string(),
            data: Some(data.clone()).filter(|d| d.as_object().is_some_and(|o| !o.is_empty())),
        },
        Channel::Webhook => Rendered::Webhook {
            body: Some(data.clone()),
        },
        Channel::Slack | Channel::Discord | Channel::Teams => Rendered::Chat {
            title: title.to_string(),
            body: body.to_string(),
            action_url: action_url.clone(),
            part: None,
        },
    }
}

type Overrides = (Option<String>, Option<String>, Option<String>);

/// A chat message from a template: the words are the in-app parts (so one
/// template serves the feed and the chat), the layout the service's own part
/// when the template has one; without it the provider builds a default.
fn chat(
    templates: &TemplateEngine,
    code: &str,
    vars: &Value,
    overrides: &Overrides,
    channel: Channel,
    locale: Option<&str>,
) -> Result<(Rendered, Option<(String, i32)>), ProducerError> {
    use crate::templates::TemplateError;
    let failed = |e: TemplateError| ProducerError::Render {
        template: code.to_string(),
        message: e.to_string(),
    };
    let optional = |name: &str| match templates.render(code, locale, name, vars) {
        Ok(r) => Ok(Some(r)),
        Err(TemplateError::MissingPart { .. }) => Ok(None),
        Err(e) => Err(failed(e)),
    };
    let words = optional(Channel::InApp.as_str())?;
    let own = optional(channel.as_str())?;
    let made_by = own
        .as_ref()
        .or(words.as_ref())
        .map(|r| (r.code.clone(), r.version));
    if made_by.is_none() {
        return Err(failed(TemplateError::MissingPart {
            code: code.to_string(),
            channel: channel.as_str().to_string(),
        }));
    }
    let word = |n: &str| words.as_ref().and_then(|r| r.parts.get(n).cloned());
    let part = match (crate::domain::chat_part(channel), own.as_ref()) {
        (Some((name, list)), Some(r)) => match r.parts.get(name).filter(|s| !s.trim().is_empty()) {
            Some(src) => {
                let v: Value = serde_json::from_str(src).map_err(|e| ProducerError::Render {
                    template: code.to_string(),
                    message: format!(
                        "{channel}.{name} is not JSON ({e}); its {{{{ values }}}} are JSON-encoded, so they need no quotes"
                    ),
                })?;
                if v.is_array() != list || !(v.is_array() || v.is_object()) {
                    return Err(ProducerError::Render {
                        template: code.to_string(),
                        message: format!(
                            "{channel}.{name} must render to a JSON {}",
                            if list { "list" } else { "object" }
                        ),
                    });
                }
                Some(v)
            }
            None => None,
        },
        _ => None,
    };
    Ok((
        Rendered::Chat {
            title: overrides
                .0
                .clone()
                .or_else(|| word("title"))
                .unwrap_or_default(),
            body: overrides
                .1
                .clone()
                .or_else(|| word("body"))
                .unwrap_or_default(),
            action_url: overrides.2.clone().or_else(|| word("action_url")),
            part,
        },
        made_by,
    ))
}
