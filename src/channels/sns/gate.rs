//! Admitting one SNS message: every check that needs no network comes first
//! (topic, timestamp, certificate URL), so a message that fails them never
//! makes Herald fetch anything.

use super::trust::{TopicAllowList, TopicArn, TrustedOrigins, TrustedUrl, UrlKind};
use super::{verify_with, CertCache, FetchBudget, SnsError, CERT_FETCHES_PER_MINUTE};
use crate::channels::callbacks::{SignedAt, Window, WindowError};
use rsa::RsaPublicKey;
use serde_json::Value;
use std::time::Duration;

/// Largest signing certificate read; AWS's are under 2 KiB.
pub const CERT_MAX_BYTES: usize = 16 * 1024;
/// The longest a certificate fetch or subscription confirmation may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// What a verified message asks of Herald.
#[derive(Debug)]
pub enum SnsKind {
    Notification { message: String },
    SubscriptionConfirmation { subscribe: TrustedUrl },
    UnsubscribeConfirmation,
}

#[derive(Debug)]
pub struct Admitted {
    pub topic: TopicArn,
    pub kind: SnsKind,
}

pub struct SnsGate {
    topics: TopicAllowList,
    origins: TrustedOrigins,
    window: Window,
    certs: CertCache,
    fetches: FetchBudget,
    /// Redirects are not followed: a trusted host must not hand Herald on to another.
    http: reqwest::Client,
}

impl SnsGate {
    pub fn new(
        topics: TopicAllowList,
        origins: TrustedOrigins,
        window: Window,
        certs: CertCache,
    ) -> Result<Self, SnsError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(FETCH_TIMEOUT)
            .build()
            .map_err(|e| SnsError::Setting {
                key: "sns_cert_url_prefixes",
                reason: format!("cannot build an HTTP client: {e}"),
            })?;
        Ok(Self {
            topics,
            origins,
            window,
            certs,
            fetches: FetchBudget::new(CERT_FETCHES_PER_MINUTE),
            http,
        })
    }

    #[tracing::instrument(skip_all, fields(topic, message_id))]
    pub async fn admit(&self, msg: &Value) -> Result<Admitted, SnsError> {
        if self.topics.is_empty() {
            return Err(SnsError::NoTopics);
        }
        let text = |k: &str| msg[k].as_str();
        tracing::Span::current().record("message_id", text("MessageId").unwrap_or_default());
        let kind = text("Type").ok_or(SnsError::Malformed("Type is missing"))?;
        if !matches!(
            kind,
            "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation"
        ) {
            return Err(SnsError::Malformed("unknown Type"));
        }
        let topic = self
            .topics
            .admit(text("TopicArn").ok_or(SnsError::InvalidTopicArn)?)?;
        tracing::Span::current().record("topic", topic.as_str());
        let at = SignedAt::parse_rfc3339(text("Timestamp").ok_or(WindowError::Malformed)?)?;
        self.window.check(at)?;
        let cert_url = self.origins.check(
            text("SigningCertURL").ok_or(SnsError::UntrustedCertUrl("missing"))?,
            UrlKind::SigningCert,
        )?;
        let key = self.certificate(&cert_url).await?;
        if !verify_with(msg, &key) {
            return Err(SnsError::InvalidSignature);
        }
        let kind = match kind {
            "Notification" => SnsKind::Notification {
                message: text("Message")
                    .ok_or(SnsError::Malformed("Message is missing"))?
                    .to_string(),
            },
            "SubscriptionConfirmation" => SnsKind::SubscriptionConfirmation {
                subscribe: self.origins.check(
                    text("SubscribeURL").ok_or(SnsError::UntrustedSubscribeUrl("missing"))?,
                    UrlKind::Subscribe,
                )?,
            },
            _ => SnsKind::UnsubscribeConfirmation,
        };
        Ok(Admitted { topic, kind })
    }

    /// The certificate's key, from the cache or fetched (and then cached).
    #[tracing::instrument(skip_all, fields(url = %url.as_str()))]
    async fn certificate(&self, url: &TrustedUrl) -> Result<RsaPublicKey, SnsError> {
        if let Some(key) = self.certs.get(url.as_str()) {
            return Ok(key);
        }
        if !self.fetches.spend() {
            return Err(SnsError::FetchBudgetSpent);
        }
        let pem = self.fetch_limited(url).await?;
        let key = super::public_key(&pem)?;
        self.certs.put(url.as_str(), key.clone());
        Ok(key)
    }

    async fn fetch_limited(&self, url: &TrustedUrl) -> Result<String, SnsError> {
        let unavailable =
            |e: &dyn std::fmt::Display| SnsError::CertificateUnavailable(e.to_string());
        let mut res = self
            .http
            .get(url.as_str())
            .send()
            .await
            .map_err(|e| unavailable(&e))?;
        if !res.status().is_success() {
            return Err(unavailable(&format!("status {}", res.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| unavailable(&e))? {
            if body.len() + chunk.len() > CERT_MAX_BYTES {
                return Err(unavailable(&format!("longer than {CERT_MAX_BYTES} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|e| unavailable(&e))
    }

    /// Visits SubscribeURL, which is how SNS learns the endpoint wants the topic.
    #[tracing::instrument(skip_all, fields(topic = %topic.as_str()))]
    pub async fn confirm(&self, topic: &TopicArn, url: &TrustedUrl) -> Result<(), SnsError> {
        let res = self
            .http
            .get(url.as_str())
            .send()
            .await
            // The URL carries the subscription token: keep it out of the logs.
            .map_err(|e| SnsError::ConfirmationFailed(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Err(SnsError::ConfirmationFailed(format!(
                "status {}",
                res.status()
            )));
        }
        Ok(())
    }
}
