//! The HTTP side of Web Push (RFC 8030 §5): one POST per subscription, and
//! what its answer means for the delivery and the subscription.

use super::format::Queueing;
use crate::channels::webhook::{guarded_client, refusal, WebhookUrl};
use crate::channels::ProviderError;
use futures_util::future::BoxFuture;
use std::time::Duration;

/// One encrypted message for one subscription.
#[derive(Clone, Debug)]
pub struct PushRequest {
    pub endpoint: String,
    pub authorization: String,
    pub queueing: Queueing,
    pub body: Vec<u8>,
}

/// What the push service answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushAnswer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    /// The message's URL on the push service (RFC 8030 §5: `Location`).
    pub location: Option<String>,
}

/// Sends one request to a push service. A network failure is retryable.
pub trait PushTransport: Send + Sync + 'static {
    fn post(&self, request: PushRequest) -> BoxFuture<'_, Result<PushAnswer, ProviderError>>;
}

/// Maps an answer: the message's id on success; 404/410 mean the
/// subscription is gone (RFC 8030 §7.3); 429 and 5xx are retried, no sooner
/// than `Retry-After`; any other refusal (400, 413) will not change on retry.
pub fn classify(answer: &PushAnswer) -> Result<Option<String>, ProviderError> {
    match answer.status {
        200..=299 => Ok(answer.location.clone()),
        404 | 410 => Err(ProviderError::InvalidToken(format!(
            "HTTP {}: the subscription has expired or was removed",
            answer.status
        ))),
        429 | 500..=599 => Err(ProviderError::Retryable {
            reason: format!("HTTP {} from the push service", answer.status),
            retry_after: answer.retry_after,
        }),
        413 => Err(ProviderError::Permanent(
            "HTTP 413: the push service refused the payload's size".into(),
        )),
        status => Err(ProviderError::Permanent(format!(
            "HTTP {status} from the push service"
        ))),
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
pub fn retry_after(raw: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let raw = raw.trim();
    if let Ok(secs) = raw.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(raw).ok()?;
    (at.with_timezone(&chrono::Utc) - now).to_std().ok()
}

/// Sends over reqwest with the webhook client's guard: no redirects, no
/// proxy, and private addresses refused unless allowed.
pub struct HttpTransport {
    client: reqwest::Client,
    allow_private: bool,
}

impl HttpTransport {
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: guarded_client(allow_private)?,
            allow_private,
        })
    }

    async fn send(&self, r: PushRequest) -> Result<PushAnswer, ProviderError> {
        // A literal IP never reaches the guarded resolver: check it here.
        let url = WebhookUrl::parse(&r.endpoint)
            .and_then(|u| u.check_literal(self.allow_private).map(|()| u))
            .map_err(|e| ProviderError::InvalidToken(format!("endpoint refused: {e}")))?;
        let req = self
            .client
            .post(url.as_str())
            .header("Authorization", r.authorization)
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("TTL", r.queueing.ttl_secs.to_string())
            .header("Urgency", r.queueing.urgency)
            .header("Topic", r.queueing.topic)
            .timeout(Duration::from_secs(15))
            .body(r.body);
        let res = req.send().await.map_err(|e| match refusal(&e) {
            Some(refused) => ProviderError::InvalidToken(format!("endpoint refused: {refused}")),
            None => crate::channels::webhook::redact::network(e),
        })?;
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(PushAnswer {
            status: res.status().as_u16(),
            retry_after: header("retry-after").and_then(|v| retry_after(&v, chrono::Utc::now())),
            location: header("location"),
        })
    }
}

impl PushTransport for HttpTransport {
    fn post(&self, request: PushRequest) -> BoxFuture<'_, Result<PushAnswer, ProviderError>> {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, retry: Option<u64>) -> PushAnswer {
        PushAnswer {
            status,
            retry_after: retry.map(Duration::from_secs),
            location: Some("https://push.example/m/1".into()),
        }
    }

    #[test]
    fn push_service_answers_are_classified() {
        assert_eq!(
            classify(&answer(201, None)),
            Ok(Some("https://push.example/m/1".into()))
        );
        assert!(classify(&answer(202, None)).is_ok());
        for gone in [404, 410] {
            assert!(matches!(
                classify(&answer(gone, None)),
                Err(ProviderError::InvalidToken(_))
            ));
        }
        assert!(matches!(
            classify(&answer(429, Some(7))),
            Err(ProviderError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(7)
        ));
        assert!(matches!(
            classify(&answer(503, None)),
            Err(ProviderError::Retryable { .. })
        ));
        for refused in [400, 401, 403, 413] {
            assert!(matches!(
                classify(&answer(refused, None)),
                Err(ProviderError::Permanent(_))
            ));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .map(|d| d.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Tue, 01 Dec 2026 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after("Tue, 01 Dec 2026 11:00:00 GMT", now), None);
        assert_eq!(retry_after("soon", now), None);
    }
}
