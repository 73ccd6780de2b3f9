//! SMS through a Twilio-compatible Messages API. The base URL is
//! configurable, so tests point it at a local server.

use super::{Provider, ProviderError, Sent};
use crate::domain::{DeliveryContent, SmsContent};
use crate::persistence::deliveries::Delivery;
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct TwilioConfig {
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: secrecy::SecretString,
    /// A sender number (E.164), or a messaging service SID starting with `MG`.
    pub from: String,
}

/// The form fields of a Messages API request. Pure, for tests.
pub fn format(
    cfg: &TwilioConfig,
    content: &SmsContent,
) -> Result<Vec<(&'static str, String)>, ProviderError> {
    let body = content.text.clone();
    if body.is_empty() {
        return Err(ProviderError::Unsendable("empty SMS text".into()));
    }
    let sender = if cfg.from.starts_with("MG") {
        "MessagingServiceSid"
    } else {
        "From"
    };
    Ok(vec![
        ("To", content.to.as_str().to_string()),
        (sender, cfg.from.clone()),
        ("Body", body),
    ])
}

/// Maps a Twilio answer to success or a classified error.
pub fn classify(
    status: u16,
    retry_after: Option<Duration>,
    body: &Value,
) -> Result<Sent, ProviderError> {
    let message = body
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("no message")
        .to_string();
    match status {
        200..=299 => Ok(Sent {
            provider_message_id: body.get("sid").and_then(Value::as_str).map(str::to_string),
        }),
        429 => Err(ProviderError::Retryable {
            reason: format!("rate limited: {message}"),
            retry_after,
        }),
        500..=599 => Err(ProviderError::Retryable {
            reason: format!("HTTP {status}: {message}"),
            retry_after,
        }),
        _ => Err(ProviderError::Permanent(format!(
            "HTTP {status} (code {}): {message}",
            body.get("code").unwrap_or(&Value::Null)
        ))),
    }
}

pub struct SmsProvider {
    cfg: TwilioConfig,
    http: reqwest::Client,
}

impl SmsProvider {
    pub fn new(cfg: TwilioConfig, http: reqwest::Client) -> Self {
        Self { cfg, http }
    }

    /// From `HERALD_TWILIO_*`; `None` when SMS is not configured.
    pub fn from_settings(
        settings: &crate::config::Settings,
    ) -> Result<Option<Self>, super::start::SetupError> {
        let (Some(sid), Some(token), Some(sender)) = (
            &settings.twilio_account_sid,
            &settings.twilio_auth_token,
            &settings.twilio_from,
        ) else {
            return Ok(None);
        };
        let cfg = TwilioConfig {
            base_url: settings.twilio_base_url.clone(),
            account_sid: sid.clone(),
            auth_token: token.clone(),
            from: sender.clone(),
        };
        Ok(Some(Self::new(cfg, super::start::http_client()?)))
    }
}

impl Provider for SmsProvider {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>> {
        use tracing::Instrument;
        let span = tracing::info_span!("sms_send", delivery = %delivery.id);
        let form = match &delivery.content {
            DeliveryContent::Sms(content) => format(&self.cfg, content),
            other => Err(ProviderError::Unsendable(format!(
                "{} content on the SMS channel",
                other.channel()
            ))),
        };
        Box::pin(
            async move {
                use secrecy::ExposeSecret;
                let form = form?;
                let body = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
                    .finish();
                let url = format!(
                    "{}/2010-04-01/Accounts/{}/Messages.json",
                    self.cfg.base_url.trim_end_matches('/'),
                    self.cfg.account_sid
                );
                let res = self
                    .http
                    .post(url)
                    .basic_auth(
                        &self.cfg.account_sid,
                        Some(self.cfg.auth_token.expose_secret()),
                    )
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .timeout(Duration::from_secs(15))
                    .send()
                    .await
                    .map_err(crate::channels::webhook::redact::network)?;
                let status = res.status().as_u16();
                let retry_after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body: Value = res.json().await.unwrap_or(Value::Null);
                classify(status, retry_after, &body)
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PhoneNumber;
    use serde_json::json;

    fn sms(to: &str, text: &str) -> SmsContent {
        SmsContent {
            to: PhoneNumber::parse(to).unwrap(),
            text: text.into(),
        }
    }

    fn cfg(from: &str) -> TwilioConfig {
        TwilioConfig {
            base_url: "http://x".into(),
            account_sid: "AC1".into(),
            auth_token: "t".to_string().into(),
            from: from.into(),
        }
    }

    #[test]
    fn requests_use_e164_numbers_and_the_right_sender_field() {
        let form = format(&cfg("+15005550006"), &sms("+14155550123", "Hi")).unwrap();
        assert!(form.contains(&("From", "+15005550006".into())));
        assert!(form.contains(&("To", "+14155550123".into())));
        let form = format(&cfg("MG123"), &sms("+14155550123", "Hi")).unwrap();
        assert!(form.iter().any(|(k, _)| *k == "MessagingServiceSid"));
        assert!(matches!(
            format(&cfg("+1"), &sms("+14155550123", "")),
            Err(ProviderError::Unsendable(_))
        ));
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            classify(201, None, &json!({"sid": "SM1"}))
                .unwrap()
                .provider_message_id
                .as_deref(),
            Some("SM1")
        );
        assert!(matches!(
            classify(429, Some(Duration::from_secs(3)), &json!({})),
            Err(ProviderError::Retryable {
                retry_after: Some(_),
                ..
            })
        ));
        assert!(matches!(
            classify(503, None, &json!({})),
            Err(ProviderError::Retryable { .. })
        ));
        assert!(matches!(
            classify(400, None, &json!({"code": 21211})),
            Err(ProviderError::Permanent(_))
        ));
    }
}
