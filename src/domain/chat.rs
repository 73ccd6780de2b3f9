//! Chat destinations and content (Slack, Discord, Teams). A destination is an
//! incoming-webhook URL, or for Slack in bot mode a channel id. A webhook URL
//! is a credential (anyone holding it can post), so it is only ever shown
//! redacted.

use super::{Channel, DomainError};
use serde::{Deserialize, Serialize};

/// Longest destination URL accepted.
const MAX_URL_CHARS: usize = 2048;

/// How a destination is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatTarget {
    /// The service's incoming-webhook URL.
    Webhook,
    /// A Slack channel id, posted to with the bot token (`chat.postMessage`).
    Channel,
}

impl ChatTarget {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Channel => "channel",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "webhook" => Ok(Self::Webhook),
            "channel" => Ok(Self::Channel),
            _ => Err(invalid("kind", format!("unknown kind '{raw}'"))),
        }
    }
}

/// A Slack conversation id (`C…`, `G…`, `D…`) or user id (`U…`, `W…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackChannelId(String);

impl SlackChannelId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let ok = (2..=32).contains(&raw.len())
            && raw.starts_with(['C', 'G', 'D', 'U', 'W'])
            && raw
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        ok.then(|| Self(raw.to_string())).ok_or_else(|| {
            invalid(
                "channel",
                "a Slack channel id looks like C0123ABCD (not a #name)".into(),
            )
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where one service's messages go.
#[derive(Clone, PartialEq, Eq)]
pub enum ChatDestination {
    Webhook(url::Url),
    SlackChannel(SlackChannelId),
}

impl std::fmt::Debug for ChatDestination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChatDestination({})", self.redacted())
    }
}

impl ChatDestination {
    /// A webhook URL must be https (http only when `allow_http`, for local
    /// stand-ins) with a host; a channel id is Slack-only.
    pub fn parse(
        service: Channel,
        kind: ChatTarget,
        raw: &str,
        allow_http: bool,
    ) -> Result<Self, DomainError> {
        if !service.is_chat() {
            return Err(DomainError::InvalidChannel(service.as_str().into()));
        }
        match kind {
            ChatTarget::Channel if service == Channel::Slack => {
                Ok(Self::SlackChannel(SlackChannelId::parse(raw.trim())?))
            }
            ChatTarget::Channel => Err(invalid(
                "channel",
                format!("{service} takes a webhook_url, not a channel"),
            )),
            ChatTarget::Webhook => {
                if raw.chars().count() > MAX_URL_CHARS {
                    return Err(invalid("webhook_url", "too long".into()));
                }
                let url = url::Url::parse(raw.trim())
                    .map_err(|e| invalid("webhook_url", e.to_string()))?;
                let scheme_ok = url.scheme() == "https" || (allow_http && url.scheme() == "http");
                if !scheme_ok {
                    return Err(invalid("webhook_url", "must be an https URL".into()));
                }
                if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
                    return Err(invalid(
                        "webhook_url",
                        "must have a host and no user info".into(),
                    ));
                }
                Ok(Self::Webhook(url))
            }
        }
    }

    pub fn kind(&self) -> ChatTarget {
        match self {
            Self::Webhook(_) => ChatTarget::Webhook,
            Self::SlackChannel(_) => ChatTarget::Channel,
        }
    }

    /// What is stored: the URL or the channel id.
    pub fn target(&self) -> &str {
        match self {
            Self::Webhook(u) => u.as_str(),
            Self::SlackChannel(c) => c.as_str(),
        }
    }

    /// Safe to show and log: scheme and host of a webhook, with only the last
    /// four characters of its secret path. A channel id is not a secret.
    pub fn redacted(&self) -> String {
        match self {
            Self::Webhook(u) => {
                let tail: String = {
                    let path = u.path();
                    let n = path.chars().count();
                    path.chars().skip(n.saturating_sub(4)).collect()
                };
                format!(
                    "{}://{}/…{}",
                    u.scheme(),
                    u.host_str().unwrap_or_default(),
                    tail
                )
            }
            Self::SlackChannel(c) => c.as_str().to_string(),
        }
    }
}

/// A chat message, rendered: the words, and the template's own service part
/// (`slack.blocks`, `discord.embeds`, `teams.card`) when it has one. The
/// destination is looked up when sending, so no credential sits in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatContent {
    pub title: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<serde_json::Value>,
    /// The rule whose own destination wins over the user's, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<uuid::Uuid>,
}

/// A chat service's own template part and the JSON shape it must render to:
/// Slack Block Kit `blocks` (a list), Discord `embeds` (a list), a Teams
/// Adaptive Card (an object).
pub fn chat_part(service: Channel) -> Option<(&'static str, bool)> {
    match service {
        Channel::Slack => Some(("blocks", true)),
        Channel::Discord => Some(("embeds", true)),
        Channel::Teams => Some(("card", false)),
        _ => None,
    }
}

fn invalid(field: &'static str, reason: String) -> DomainError {
    DomainError::InvalidField { field, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_must_be_https_unless_http_is_allowed() {
        let https = "https://hooks.slack.com/services/T0/B0/secretXYZ";
        let d = ChatDestination::parse(Channel::Slack, ChatTarget::Webhook, https, false);
        assert!(matches!(d, Ok(ChatDestination::Webhook(_))));
        let http = "http://127.0.0.1:9/hook";
        assert!(
            ChatDestination::parse(Channel::Discord, ChatTarget::Webhook, http, false).is_err()
        );
        assert!(ChatDestination::parse(Channel::Discord, ChatTarget::Webhook, http, true).is_ok());
        let creds = "https://a:b@example.com/x";
        assert!(ChatDestination::parse(Channel::Teams, ChatTarget::Webhook, creds, false).is_err());
        assert!(ChatDestination::parse(Channel::Email, ChatTarget::Webhook, https, false).is_err());
    }

    #[test]
    fn only_slack_takes_a_channel_id_and_it_must_look_like_one() {
        let ok = ChatDestination::parse(Channel::Slack, ChatTarget::Channel, "C0123ABCD", false);
        assert_eq!(ok.map(|d| d.redacted()), Ok("C0123ABCD".to_string()));
        assert!(
            ChatDestination::parse(Channel::Slack, ChatTarget::Channel, "#general", false).is_err()
        );
        assert!(
            ChatDestination::parse(Channel::Teams, ChatTarget::Channel, "C0123ABCD", false)
                .is_err()
        );
    }

    #[test]
    fn a_redacted_webhook_keeps_the_host_and_hides_the_secret_path() {
        let raw = "https://discord.com/api/webhooks/123/very-secret-token";
        let d = ChatDestination::parse(Channel::Discord, ChatTarget::Webhook, raw, false);
        let shown = d.map(|d| d.redacted()).unwrap_or_default();
        assert_eq!(shown, "https://discord.com/…oken");
        assert!(!format!(
            "{:?}",
            ChatDestination::parse(Channel::Discord, ChatTarget::Webhook, raw, false)
        )
        .contains("very-secret"));
    }
}
