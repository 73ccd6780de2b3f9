use super::DomainError;
use serde::{Deserialize, Serialize};

/// A push token as issued by APNs or FCM. Opaque, but bounded and printable.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeviceToken(String);

impl DeviceToken {
    pub const MAX_LEN: usize = 4096;

    pub fn parse(raw: impl Into<String>) -> Result<Self, DomainError> {
        let raw = raw.into();
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(DomainError::InvalidDeviceToken(format!(
                "must be 1 to {} characters",
                Self::MAX_LEN
            )));
        }
        if !raw.chars().all(|c| c.is_ascii_graphic()) {
            return Err(DomainError::InvalidDeviceToken(
                "must be printable ASCII without spaces".into(),
            ));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Ios,
    Android,
    Web,
}

impl Platform {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "ios" => Ok(Self::Ios),
            "android" => Ok(Self::Android),
            "web" => Ok(Self::Web),
            _ => Err(DomainError::InvalidPlatform(raw.to_string())),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Ios => "ios",
            Self::Android => "android",
            Self::Web => "web",
        }
    }

    /// The provider a token from this platform belongs to when the caller does not say.
    pub fn default_provider(&self) -> PushProvider {
        match self {
            Self::Ios => PushProvider::Apns,
            Self::Android | Self::Web => PushProvider::Fcm,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushProvider {
    Apns,
    Fcm,
    /// A browser's own push service, reached directly with VAPID (the `web_push` channel).
    WebPush,
}

impl PushProvider {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "apns" => Ok(Self::Apns),
            "fcm" => Ok(Self::Fcm),
            "web_push" => Ok(Self::WebPush),
            _ => Err(DomainError::InvalidProvider(raw.to_string())),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Apns => "apns",
            Self::Fcm => "fcm",
            Self::WebPush => "web_push",
        }
    }
}
