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
    /// Browser push (RFC 8030) straight to the subscription's push service, without FCM.
    WebPush,
}

impl Channel {
    pub const ALL: [Channel; 6] = [
        Channel::InApp,
        Channel::Email,
        Channel::Push,
        Channel::Sms,
        Channel::Webhook,
        Channel::WebPush,
    ];

    /// Accepts the canonical names plus the spellings other services send
    /// (`in-app`, `inapp`, `notification_type`).
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "in_app" | "in-app" | "inapp" => Ok(Self::InApp),
            "email" => Ok(Self::Email),
            "push" => Ok(Self::Push),
            "sms" => Ok(Self::Sms),
            "webhook" => Ok(Self::Webhook),
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
    }
}
