use super::DomainError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A delivery channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    InApp,
    Email,
    Push,
    Sms,
    Webhook,
    Slack,
    Discord,
    Teams,
    /// Browser push (RFC 8030) straight to the subscription's push service, without FCM.
    WebPush,
}

impl Channel {
    pub const ALL: [Channel; 9] = [
        Channel::InApp,
        Channel::Email,
        Channel::Push,
        Channel::Sms,
        Channel::Webhook,
        Channel::Slack,
        Channel::Discord,
        Channel::Teams,
        Channel::WebPush,
    ];

    /// The chat services: messages go to a per-user or per-rule destination.
    pub const CHAT: [Channel; 3] = [Channel::Slack, Channel::Discord, Channel::Teams];

    pub fn is_chat(&self) -> bool {
        Self::CHAT.contains(self)
    }

    /// Accepts the canonical names plus the spellings other services send
    /// (`in-app`, `inapp`, `notification_type`).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "in_app" | "in-app" | "inapp" => Ok(Self::InApp),
            "email" => Ok(Self::Email),
            "push" => Ok(Self::Push),
            "sms" => Ok(Self::Sms),
            "webhook" => Ok(Self::Webhook),
            "slack" => Ok(Self::Slack),
            "discord" => Ok(Self::Discord),
            "teams" | "msteams" => Ok(Self::Teams),
            "web_push" | "web-push" | "webpush" => Ok(Self::WebPush),
            _ => Err(DomainError::InvalidChannel(raw.to_string())),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::InApp => "in_app",
            Self::Email => "email",
            Self::Push => "push",
            Self::Sms => "sms",
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Teams => "teams",
            Self::WebPush => "web_push",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_parse_their_common_spellings() {
        assert_eq!(Channel::parse("in-app"), Ok(Channel::InApp));
        assert_eq!(Channel::parse("EMAIL"), Ok(Channel::Email));
        assert!(Channel::parse("pigeon").is_err());
        assert_eq!(Channel::parse("web-push"), Ok(Channel::WebPush));
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Ok(c));
        }
        assert!(Channel::CHAT.iter().all(Channel::is_chat));
    }
}
