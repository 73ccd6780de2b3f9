//! How a chat message leaves: one JSON POST through the webhook client (the
//! private-address guard in its resolver, no redirects, no proxy), reading
//! at most a bounded answer. URLs never reach an error text or a log.

use crate::channels::webhook::{self, redact, UrlError};
use crate::channels::ProviderError;
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// One request to a chat service.
pub struct ChatRequest {
    /// A webhook URL (a credential) or the Slack API endpoint.
    pub url: url::Url,
    /// The Slack bot token, in bot mode.
    pub bearer: Option<SecretString>,
    pub body: serde_json::Value,
}

/// What the service answered, as far as it was read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// The `Retry-After` header, in seconds (whole or fractional).
    pub retry_after: Option<Duration>,
    /// The first bytes of the body.
    pub body: String,
}

/// Sends chat requests; tests and other deployments may bring their own.
pub trait ChatTransport: Send + Sync + 'static {
    fn post(&self, request: ChatRequest) -> BoxFuture<'_, Result<Answer, ProviderError>>;
}

/// The real transport, over HTTP.
pub struct HttpTransport {
    http: reqwest::Client,
    allow_private: bool,
    max_response_bytes: usize,
    timeout: Duration,
}

impl HttpTransport {
    pub fn new(
        allow_private: bool,
        max_response_bytes: usize,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: webhook::guarded_client(allow_private)?,
            allow_private,
            max_response_bytes,
            timeout,
        })
    }
}

impl ChatTransport for HttpTransport {
    fn post(&self, request: ChatRequest) -> BoxFuture<'_, Result<Answer, ProviderError>> {
        Box::pin(async move {
            let refused = |e: UrlError| ProviderError::Unsendable(format!("refused: {e}"));
            let target = webhook::WebhookUrl::parse(request.url.as_str()).map_err(refused)?;
            target.check_literal(self.allow_private).map_err(refused)?;
            let mut req = self
                .http
                .post(request.url)
                .header("content-type", "application/json")
                .body(request.body.to_string())
                .timeout(self.timeout);
            if let Some(token) = &request.bearer {
                req = req.bearer_auth(token.expose_secret());
            }
            let mut res = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    return Err(match webhook::refusal(&e) {
                        Some(why) => refused(why.clone()),
                        None => redact::network(e),
                    })
                }
            };
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(seconds);
            let body = match status {
                300..=399 => String::new(),
                _ => webhook::response::excerpt(&mut res, self.max_response_bytes).await,
            };
            Ok(Answer {
                status,
                retry_after,
                body,
            })
        })
    }
}

/// Longest wait a service may ask for; beyond it the backoff's own cap applies.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// `Retry-After` or Discord's `retry_after`: seconds, whole or fractional.
pub fn seconds(raw: &str) -> Option<Duration> {
    let secs: f64 = raw.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs).min(MAX_RETRY_AFTER))
}

/// The classes every service shares: 408, 429 and 5xx are retried (no sooner
/// than the service asks), a redirect is not followed and is retried like a 5xx.
pub fn transient(answer: &Answer, retry_after: Option<Duration>) -> Option<ProviderError> {
    let reason = |what: &str| format!("HTTP {}: {what}", answer.status);
    match answer.status {
        300..=399 => Some(ProviderError::Retryable {
            reason: reason("redirect not followed"),
            retry_after: None,
        }),
        429 => Some(ProviderError::Retryable {
            reason: reason("rate limited"),
            retry_after: retry_after.or(answer.retry_after),
        }),
        408 | 500..=599 => Some(ProviderError::Retryable {
            reason: reason(excerpt(&answer.body)),
            retry_after: answer.retry_after,
        }),
        _ => None,
    }
}

/// A short, single-line excerpt of an answer for `last_error`.
pub fn excerpt(body: &str) -> &str {
    let line = body.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(200) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_whole_and_fractional_seconds_and_refuses_nonsense() {
        assert_eq!(seconds("3"), Some(Duration::from_secs(3)));
        assert_eq!(seconds(" 1.5 "), Some(Duration::from_millis(1500)));
        assert_eq!(seconds("-1"), None);
        assert_eq!(seconds("NaN"), None);
        assert_eq!(seconds("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(seconds("99999999"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn rate_limits_and_server_errors_are_retried_and_client_errors_are_not_decided_here() {
        let a = |status| Answer {
            status,
            retry_after: Some(Duration::from_secs(2)),
            body: "busy\nmore".into(),
        };
        assert!(matches!(
            transient(&a(429), None),
            Some(ProviderError::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(2)
        ));
        assert!(matches!(
            transient(&a(503), None),
            Some(ProviderError::Retryable { reason, .. }) if reason == "HTTP 503: busy"
        ));
        assert!(transient(&a(302), None).is_some());
        assert_eq!(transient(&a(404), None), None);
        assert_eq!(transient(&a(200), None), None);
    }
}
