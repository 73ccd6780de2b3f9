//! Email over SMTP (lettre), or `.eml` files under `data/outbox/` when no
//! SMTP server is configured. The formatter is pure; the transport sends.

use super::{Provider, ProviderError, Sent};
use entity::deliveries as d;
use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::Value;
use sha2::Sha256;

/// Signs one-click unsubscribe links, so only Herald's own links work.
#[derive(Clone)]
pub struct UnsubscribeSigner {
    key: Vec<u8>,
    base_url: String,
}

impl UnsubscribeSigner {
    /// `secret` is the JWT secret; a domain label keeps the two uses apart.
    pub fn new(secret: &[u8], base_url: &str) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(b"x").expect("static key"));
        mac.update(b"herald-unsubscribe-v1");
        Self {
            key: mac.finalize().into_bytes().to_vec(),
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    fn sign(&self, user: &str, category: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(user.as_bytes());
        mac.update(b"\n");
        mac.update(category.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    pub fn url(&self, user: &str, category: &str) -> String {
        format!(
            "{}/api/v1/unsubscribe?u={}&c={}&s={}",
            self.base_url,
            urlencoding::encode(user),
            urlencoding::encode(category),
            self.sign(user, category)
        )
    }

    pub fn verify(&self, user: &str, category: &str, sig: &str) -> bool {
        let expected = self.sign(user, category);
        expected.len() == sig.len()
            && expected
                .bytes()
                .zip(sig.bytes())
                .fold(0u8, |a, (x, y)| a | (x ^ y))
                == 0
    }
}

/// Builds the message for a delivery: multipart/alternative (text and HTML),
/// a Message-ID derived from the delivery id (so a resend is recognisably the
/// same message), and RFC 8058 one-click List-Unsubscribe headers.
pub fn format(
    from: &Mailbox,
    delivery_id: uuid::Uuid,
    content: &Value,
    unsubscribe: Option<&str>,
) -> Result<Message, ProviderError> {
    let field = |k: &str| {
        content
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let to: Mailbox = field("to")
        .parse()
        .map_err(|e| ProviderError::Permanent(format!("invalid recipient: {e}")))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(field("subject"))
        .message_id(Some(format!("<{delivery_id}@herald>")));
    if let Some(url) = unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".into(),
            ));
    }
    let (text, html) = (field("text"), field("html"));
    let built = if html.is_empty() {
        builder.body(text)
    } else {
        builder.multipart(MultiPart::alternative_plain_html(text, html))
    };
    built.map_err(|e| ProviderError::Permanent(format!("cannot build the message: {e}")))
}

/// `smtp://user:pass@host:587?tls=starttls` with `tls` one of `starttls`, `implicit`, `none`.
pub fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("HERALD_SMTP_URL: {e}"))?;
    let host = parsed
        .host_str()
        .ok_or("HERALD_SMTP_URL has no host")?
        .to_string();
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| "starttls".into());
    let mut builder = match tls.as_str() {
        "none" => {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone()).tls(Tls::None)
        }
        "implicit" => {
            AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map_err(|e| e.to_string())?
        }
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)
            .map_err(|e| e.to_string())?,
        other => {
            return Err(format!(
                "HERALD_SMTP_URL: tls={other}; expected starttls, implicit or none"
            ))
        }
    };
    if let Some(port) = parsed.port() {
        builder = builder.port(port);
    }
    if !parsed.username().is_empty() {
        let user = urlencoding::decode(parsed.username())
            .map_err(|e| e.to_string())?
            .into_owned();
        let pass = urlencoding::decode(parsed.password().unwrap_or_default())
            .map_err(|e| e.to_string())?
            .into_owned();
        builder = builder.credentials(Credentials::new(user, pass));
    }
    let _ = TlsParameters::new; // TLS parameters come from the relay builders (webpki roots).
    Ok(builder.build())
}

/// lettre's pooled SMTP transport spawns a cleanup task when dropped, which
/// panics (and, during unwinding, aborts) once the runtime is gone: at process
/// exit or test teardown. With no runtime left, the transport is leaked instead;
/// the process is ending anyway.
pub struct RuntimeBound<T>(Option<T>);

impl<T> RuntimeBound<T> {
    pub fn new(value: T) -> Self {
        Self(Some(value))
    }
}

impl<T> std::ops::Deref for RuntimeBound<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // Always Some until Drop runs.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("RuntimeBound used after drop"))
    }
}

impl<T> Drop for RuntimeBound<T> {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            if let Some(value) = self.0.take() {
                std::mem::forget(value);
            }
        }
    }
}

pub enum EmailTransport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// The embedded default: real RFC 5322 messages written as `.eml` files.
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct EmailProvider {
    from: Mailbox,
    transport: RuntimeBound<EmailTransport>,
    /// A second relay, used while the primary's breaker is open or when it just failed.
    fallback: Option<(RuntimeBound<EmailTransport>, super::breaker::CircuitBreaker)>,
    unsubscribe: UnsubscribeSigner,
}

impl EmailProvider {
    pub fn new(from: Mailbox, transport: EmailTransport, unsubscribe: UnsubscribeSigner) -> Self {
        Self {
            from,
            transport: RuntimeBound::new(transport),
            fallback: None,
            unsubscribe,
        }
    }

    /// Adds a secondary relay. `primary_breaker` decides when the primary is skipped.
    pub fn with_fallback(
        mut self,
        secondary: EmailTransport,
        primary_breaker: super::breaker::CircuitBreaker,
    ) -> Self {
        self.fallback = Some((RuntimeBound::new(secondary), primary_breaker));
        self
    }
}

async fn deliver(transport: &EmailTransport, message: Message) -> Result<(), ProviderError> {
    match transport {
        EmailTransport::Smtp(t) => {
            t.send(message).await.map_err(classify)?;
        }
        EmailTransport::Files(t) => {
            t.send(message)
                .await
                .map_err(|e| ProviderError::Retryable {
                    reason: e.to_string(),
                    retry_after: None,
                })?;
        }
    }
    Ok(())
}

fn classify(e: lettre::transport::smtp::Error) -> ProviderError {
    if e.is_permanent() {
        ProviderError::Permanent(e.to_string())
    } else {
        ProviderError::Retryable {
            reason: e.to_string(),
            retry_after: None,
        }
    }
}

impl Provider for EmailProvider {
    fn name(&self) -> &'static str {
        match *self.transport {
            EmailTransport::Smtp(_) => "smtp",
            EmailTransport::Files(_) => "eml-files",
        }
    }

    fn send(&self, delivery: &d::Model) -> BoxFuture<'_, Result<Sent, ProviderError>> {
        use tracing::Instrument;
        let span =
            tracing::info_span!("email_send", delivery = %delivery.id, provider = self.name());
        let content: Value = serde_json::from_str(&delivery.content).unwrap_or(Value::Null);
        let category = content
            .get("category")
            .and_then(Value::as_str)
            .unwrap_or("general")
            .to_string();
        let link = self
            .unsubscribe
            .url(delivery.user_id.as_deref().unwrap_or_default(), &category);
        let message = format(&self.from, delivery.id, &content, Some(&link));
        let message_id = format!("<{}@herald>", delivery.id);
        Box::pin(
            async move {
                let message = message?;
                match &self.fallback {
                    None => deliver(&self.transport, message).await?,
                    Some((secondary, breaker)) => {
                        let primary = match breaker.allow() {
                            Ok(()) => deliver(&self.transport, message.clone()).await,
                            Err(_) => Err(ProviderError::Retryable {
                                reason: "primary relay circuit open".into(),
                                retry_after: None,
                            }),
                        };
                        match primary {
                            Ok(()) => breaker.success(),
                            Err(ProviderError::Retryable { reason, .. }) => {
                                breaker.failure();
                                tracing::warn!(
                                    reason,
                                    "primary SMTP relay failed; using the fallback"
                                );
                                deliver(secondary, message).await?;
                            }
                            Err(e) => return Err(e),
                        }
                    }
                }
                Ok(Sent {
                    provider_message_id: Some(message_id),
                })
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_carry_both_parts_a_message_id_and_one_click_unsubscribe() {
        let from: Mailbox = "Movie Tickets <notifications@example.com>".parse().unwrap();
        let id = uuid::Uuid::now_v7();
        let content = json!({"to": "customer@example.com", "subject": "Your tickets", "html": "<p>Hi</p>", "text": "Hi"});
        let raw = String::from_utf8(
            format(&from, id, &content, Some("https://h.example/u?x=1"))
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains(&format!("Message-ID: <{id}@herald>")));
        assert!(raw.contains("List-Unsubscribe: <https://h.example/u?x=1>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(
            raw.contains("From: \"Movie Tickets\" <notifications@example.com>")
                || raw.contains("From: Movie Tickets <notifications@example.com>")
        );
    }

    #[test]
    fn a_bad_recipient_is_a_permanent_failure() {
        let from: Mailbox = "a@example.com".parse().unwrap();
        let err = format(
            &from,
            uuid::Uuid::nil(),
            &json!({"to": "not an address"}),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, ProviderError::Permanent(_)));
    }

    #[test]
    fn unsubscribe_links_verify_only_for_their_user_and_category() {
        let s = UnsubscribeSigner::new(b"secret-secret-secret-secret-secret", "http://h");
        let url = s.url("user_123", "marketing");
        let sig = url.rsplit("s=").next().unwrap();
        assert!(s.verify("user_123", "marketing", sig));
        assert!(!s.verify("user_124", "marketing", sig));
        assert!(!s.verify("user_123", "booking", sig));
    }
}
