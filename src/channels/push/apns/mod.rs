//! APNs through the `a2` crate: its builder makes the payload, its client
//! (token auth with a .p8 key) sends it. a2 cannot point at a local server,
//! so the send sits behind [`ApnsSender`]; tests drive the payload and the
//! error mapping through it.

use super::PushMessage;
use crate::channels::{ProviderError, Sent};
use a2::request::notification::{
    DefaultNotificationBuilder, NotificationBuilder, NotificationOptions, Priority,
};
use a2::request::payload::PayloadLike;
use a2::{CollapseId, ErrorReason};
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::{json, Value};

/// The payload sent: a2's `aps`, plus `thread-id` (which a2's struct lacks) and Herald's custom data.
#[derive(Serialize, Debug)]
pub struct ApnsPayload<'a> {
    #[serde(flatten)]
    body: Value,
    #[serde(skip)]
    token: &'a str,
    #[serde(skip)]
    options: NotificationOptions<'a>,
}

impl PayloadLike for ApnsPayload<'_> {
    fn get_device_token(&self) -> &str {
        self.token
    }
    fn get_options(&self) -> &NotificationOptions<'_> {
        &self.options
    }
}

impl ApnsPayload<'_> {
    pub fn json(&self) -> &Value {
        &self.body
    }
    pub fn priority_high(&self) -> bool {
        matches!(self.options.apns_priority, Some(Priority::High))
    }
}

/// Builds the payload for one device. Pure.
/// - alert title and body, sound, badge = the user's unread count;
/// - `thread-id` = category (groups a conversation on the lock screen);
/// - `apns-collapse-id` = notification id, `apns-priority` from the notification's priority;
/// - custom `herald` data: notification id, action URL, data.
pub fn format<'a>(
    token: &'a str,
    topic: &'a str,
    content: &'a PushMessage<'a>,
    badge: u32,
) -> Result<ApnsPayload<'a>, ProviderError> {
    let urgent = content.urgent;
    let collapse = content
        .notification_id
        .as_deref()
        .map(CollapseId::new)
        .transpose()
        .map_err(|e| ProviderError::Unsendable(e.to_string()))?;
    let options = NotificationOptions {
        apns_priority: Some(if urgent {
            Priority::High
        } else {
            Priority::Normal
        }),
        apns_topic: Some(topic),
        apns_collapse_id: collapse,
        ..Default::default()
    };
    let mut payload = DefaultNotificationBuilder::new()
        .set_title(content.title)
        .set_body(content.body)
        .set_sound("default")
        .set_badge(badge)
        .build(token, options.clone());
    let custom = json!({"notification_id": content.notification_id, "action_url": content.action_url, "data": content.data});
    payload
        .add_custom_data("herald", &custom)
        .map_err(|e| ProviderError::Unsendable(e.to_string()))?;
    let mut body =
        serde_json::to_value(&payload).map_err(|e| ProviderError::Unsendable(e.to_string()))?;
    body["aps"]["thread-id"] = json!(content.category);
    Ok(ApnsPayload {
        body,
        token,
        options,
    })
}

/// Maps what APNs answered. `Unregistered` (410), `BadDeviceToken` and
/// `DeviceTokenNotForTopic` mean the token is dead and its device is deactivated.
pub fn classify(result: Result<a2::Response, a2::Error>) -> Result<Sent, ProviderError> {
    match result {
        Ok(r) => Ok(Sent {
            provider_message_id: r.apns_id,
        }),
        Err(a2::Error::ResponseError(r)) => {
            let reason = r.error.as_ref().map(|e| &e.reason);
            let text = format!("APNs {}: {:?}", r.code, reason);
            match (r.code, reason) {
                (
                    _,
                    Some(
                        ErrorReason::Unregistered
                        | ErrorReason::BadDeviceToken
                        | ErrorReason::DeviceTokenNotForTopic,
                    ),
                )
                | (410, _) => Err(ProviderError::InvalidToken(text)),
                (
                    _,
                    Some(
                        ErrorReason::TooManyRequests
                        | ErrorReason::InternalServerError
                        | ErrorReason::ServiceUnavailable
                        | ErrorReason::Shutdown
                        | ErrorReason::IdleTimeout
                        | ErrorReason::ExpiredProviderToken,
                    ),
                ) => Err(ProviderError::Retryable {
                    reason: text,
                    retry_after: None,
                }),
                (429 | 500..=599, _) => Err(ProviderError::Retryable {
                    reason: text,
                    retry_after: None,
                }),
                _ => Err(ProviderError::Permanent(text)),
            }
        }
        // Connection and timeout errors: the provider may come back.
        Err(e) => Err(ProviderError::Retryable {
            reason: format!("APNs: {e}"),
            retry_after: None,
        }),
    }
}

/// Sends one payload; implemented by a2's client, and by fakes in tests.
pub trait ApnsSender: Send + Sync + 'static {
    fn send<'a>(
        &'a self,
        payload: ApnsPayload<'a>,
    ) -> BoxFuture<'a, Result<a2::Response, a2::Error>>;
}

impl ApnsSender for a2::Client {
    fn send<'a>(
        &'a self,
        payload: ApnsPayload<'a>,
    ) -> BoxFuture<'a, Result<a2::Response, a2::Error>> {
        Box::pin(a2::Client::send(self, payload))
    }
}

/// Apple's development endpoint when `sandbox`, else production.
fn endpoint(sandbox: bool) -> a2::Endpoint {
    if sandbox {
        a2::Endpoint::Sandbox
    } else {
        a2::Endpoint::Production
    }
}

/// Token auth with a .p8 key. `sandbox` picks Apple's development endpoint.
pub fn client(
    p8_pem: &str,
    key_id: &str,
    team_id: &str,
    sandbox: bool,
) -> Result<a2::Client, String> {
    a2::Client::token(
        p8_pem.as_bytes(),
        key_id,
        team_id,
        a2::ClientConfig::new(endpoint(sandbox)),
    )
    .map_err(|e| format!("APNs key: {e}"))
}

/// Certificate auth: the APNs client certificate and its private key, both PEM.
pub fn client_from_certificate(
    cert_pem: &str,
    key_pem: &str,
    sandbox: bool,
) -> Result<a2::Client, String> {
    a2::Client::certificate_parts(
        cert_pem.as_bytes(),
        key_pem.as_bytes(),
        a2::ClientConfig::new(endpoint(sandbox)),
    )
    .map_err(|e| format!("APNs certificate: {e}"))
}

/// An APNs setup: the sender and the app's bundle id (the topic).
pub struct Apns {
    pub sender: Box<dyn ApnsSender>,
    pub topic: String,
}

impl Apns {
    /// Token auth (`HERALD_APNS_KEY_PEM`, `_KEY_ID`, `_TEAM_ID`) or a certificate
    /// (`HERALD_APNS_CERT_PEM`, `_CERT_KEY_PEM`), with `HERALD_APNS_TOPIC`; `None` when not configured.
    pub fn from_settings(
        settings: &crate::config::Settings,
    ) -> Result<Option<Self>, crate::channels::start::SetupError> {
        use crate::channels::start::SetupError;
        use secrecy::ExposeSecret;
        let Some(topic) = &settings.apns_topic else {
            return Ok(None);
        };
        let sender: Box<dyn ApnsSender> = match (
            &settings.apns_key_pem,
            &settings.apns_key_id,
            &settings.apns_team_id,
            &settings.apns_cert_pem,
            &settings.apns_cert_key_pem,
        ) {
            (Some(pem), Some(key_id), Some(team), _, _) => Box::new(
                client(pem.expose_secret(), key_id, team, settings.apns_sandbox)
                    .map_err(SetupError)?,
            ),
            (_, _, _, Some(cert), Some(key)) => Box::new(
                client_from_certificate(
                    cert.expose_secret(),
                    key.expose_secret(),
                    settings.apns_sandbox,
                )
                .map_err(SetupError)?,
            ),
            _ => return Ok(None),
        };
        Ok(Some(Self {
            sender,
            topic: topic.clone(),
        }))
    }

    pub async fn send(
        &self,
        token: &str,
        content: &PushMessage<'_>,
        badge: u32,
    ) -> Result<Sent, ProviderError> {
        let payload = format(token, &self.topic, content, badge)?;
        classify(self.sender.send(payload).await)
    }
}

#[cfg(test)]
mod tests;
