//! Templates as `POST`/`PUT /templates` and packs take them, render previews,
//! and what those routes answer.

use crate::domain::DomainError;
use crate::packs::TemplateInput;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Each channel's parts are template sources. `in_app.data`, `in_app.tags`,
/// `in_app.actions`, `push.data`, `webhook.body` and the chat layouts are
/// JSON templates (every `{{ value }}` is written as a JSON value).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
pub struct PartsBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<InAppParts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailParts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushParts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsParts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookParts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackParts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<DiscordParts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<TeamsParts>,
}

/// A channel's parts, each an optional template source.
macro_rules! parts {
    ($($name:ident { $($part:ident),+ })+) => {$(
        #[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                #[schema(max_length = 262144)]
                pub $part: Option<String>,
            )+
        }
    )+};
}

parts! {
    InAppParts { title, body, action_url, data, tags, actions }
    EmailParts { subject, html, text }
    PushParts { title, body, data }
    SmsParts { text }
    WebhookParts { body }
    SlackParts { blocks }
    DiscordParts { embeds }
    TeamsParts { card }
}

/// `{code, locale?, description?, parts}`. Also read: the channels at the top
/// level instead of `parts`, and the older `{code, content, language}` form.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct TemplateBody {
    /// Required on `POST`; on `PUT` the path's code wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9_.-]+$")]
    pub code: Option<String>,
    /// Default `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The older name of `locale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<PartsBody>,
    /// The older form: one text for in-app, email, SMS and push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(flatten)]
    pub channels: PartsBody,
}

impl TemplateBody {
    /// The template, through [`TemplateInput::parse`] (shared with packs).
    pub fn to_input(&self, code_from_path: Option<&str>) -> Result<TemplateInput, DomainError> {
        let json = serde_json::to_value(self).map_err(|e| DomainError::InvalidField {
            field: "template",
            reason: e.to_string(),
        })?;
        TemplateInput::parse(&json, code_from_path)
    }
}

/// `{variables, locale?, channel?}`, or the variables themselves.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum RenderBody {
    Wrapped {
        #[schema(value_type = Object)]
        variables: Value,
        locale: Option<String>,
        /// Only this channel; default every channel the template has.
        channel: Option<String>,
    },
    Bare(Variables),
}

/// Template variables: any JSON object.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = Object)]
pub struct Variables(pub serde_json::Map<String, Value>);

/// A template at one version, as saved or listed.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TemplateView {
    pub code: String,
    pub locale: String,
    pub version: i32,
    pub description: Option<String>,
    pub parts: PartsBody,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TemplateList {
    pub items: Vec<TemplateView>,
}

/// Every locale of a code at its current version.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TemplateLocales {
    pub code: String,
    pub locales: Vec<TemplateView>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TemplateVersion {
    pub locale: String,
    pub version: i32,
    pub parts: PartsBody,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct TemplateVersions {
    pub items: Vec<TemplateVersion>,
}

/// A channel's rendered parts.
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RenderedChannel {
    pub version: i32,
    pub locale: String,
    pub parts: BTreeMap<String, String>,
}

#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
pub struct RenderView {
    pub code: String,
    /// The first channel's body (or text, or HTML).
    pub rendered: String,
    pub channels: BTreeMap<String, RenderedChannel>,
}
