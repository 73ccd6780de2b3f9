//! Email over SMTP (lettre), or `.eml` files under `data/outbox/` when no
//! SMTP server is configured. The formatter is pure; the transport sends.

use super::breaker::{CircuitBreaker, Verdict};
use super::{Provider, ProviderError, Sent};
use crate::domain::{DeliveryContent, EmailContent};
use crate::persistence::deliveries::Delivery;
use futures_util::future::BoxFuture;
use hmac::{Hmac, Mac};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::Sha256;
use std::sync::Arc;

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
    content: &EmailContent,
    unsubscribe: Option<&str>,
) -> Result<Message, ProviderError> {
    let to: Mailbox = content
        .to
        .as_str()
        .parse()
        .map_err(|e| ProviderError::Unsendable(format!("invalid recipient: {e}")))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(content.subject.clone())
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
    let text = content.text.clone();
    let built = match content.html.clone().filter(|h| !h.is_empty()) {
        // `text/plain; charset=utf-8` with MIME-Version, like the multipart form.
        None => builder.singlepart(lettre::message::SinglePart::plain(text)),
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html)),
    };
    built.map_err(|e| ProviderError::Unsendable(format!("cannot build the message: {e}")))
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
    fallback: Option<(RuntimeBound<EmailTransport>, Arc<CircuitBreaker>)>,
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
        primary_breaker: CircuitBreaker,
    ) -> Self {
        self.fallback = Some((RuntimeBound::new(secondary), Arc::new(primary_breaker)));
        self
    }
}

impl EmailProvider {
    /// From `HERALD_SMTP_URL`, `HERALD_SMTP_FALLBACK_URL` and `HERALD_EMAIL_FROM`; without
    /// SMTP, messages are written as `.eml` files under the data directory.
    pub fn from_settings(
        settings: &crate::config::Settings,
        unsubscribe: &UnsubscribeSigner,
    ) -> Result<Self, super::start::SetupError> {
        use super::start::SetupError;
        use secrecy::ExposeSecret;
        let from: Mailbox = settings
            .email_from
            .parse()
            .map_err(|e| SetupError(format!("HERALD_EMAIL_FROM is not an address: {e}")))?;
        let transport = match &settings.smtp_url {
            Some(url) => {
                EmailTransport::Smtp(smtp_transport(url.expose_secret()).map_err(SetupError)?)
            }
            None => {
                let outbox = settings.data_dir.join("outbox");
                std::fs::create_dir_all(&outbox)
                    .map_err(|e| SetupError(format!("cannot create {}: {e}", outbox.display())))?;
                tracing::info!(dir = %outbox.display(), "no SMTP configured: emails are written as .eml files");
                EmailTransport::Files(AsyncFileTransport::new(outbox))
            }
        };
        let mut email = Self::new(from, transport, unsubscribe.clone());
        if let Some(url) = &settings.smtp_fallback_url {
            let secondary =
                EmailTransport::Smtp(smtp_transport(url.expose_secret()).map_err(SetupError)?);
            let breaker = CircuitBreaker::new(
                settings.delivery_breaker_threshold,
                std::time::Duration::from_millis(settings.delivery_breaker_cooldown_ms),
            );
            email = email.with_fallback(secondary, breaker);
        }
        Ok(email)
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

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>> {
        use tracing::Instrument;
        let span =
            tracing::info_span!("email_send", delivery = %delivery.id, provider = self.name());
        let message = match (&delivery.content, &delivery.user) {
            (DeliveryContent::Email(content), Some(user)) => {
                let link = self
                    .unsubscribe
                    .url(user.as_str(), delivery.category.as_str());
                format(&self.from, delivery.id, content, Some(&link))
            }
            (DeliveryContent::Email(content), None) => {
                format(&self.from, delivery.id, content, None)
            }
            (other, _) => Err(ProviderError::Unsendable(format!(
                "{} content on the email channel",
                other.channel()
            ))),
        };
        let message_id = format!("<{}@herald>", delivery.id);
        Box::pin(
            async move {
                let message = message?;
                match &self.fallback {
                    None => deliver(&self.transport, message).await?,
                    Some((secondary, breaker)) => {
                        let primary = match breaker.admit() {
                            Ok(ticket) => {
                                let r = deliver(&self.transport, message.clone()).await;
                                ticket.record(match &r {
                                    Err(ProviderError::Retryable { .. }) => Verdict::Down,
                                    _ => Verdict::Up,
                                });
                                r
                            }
                            Err(_) => Err(ProviderError::Retryable {
                                reason: "primary relay circuit open".into(),
                                retry_after: None,
                            }),
                        };
                        match primary {
                            Ok(()) => {}
                            Err(ProviderError::Retryable { reason, .. }) => {
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
    use crate::domain::Email;

    fn mail(to: &str, html: Option<&str>) -> EmailContent {
        EmailContent {
            to: Email::parse(to).unwrap(),
            subject: "Your tickets".into(),
            text: "Hi".into(),
            html: html.map(str::to_string),
        }
    }

    #[test]
    fn messages_carry_both_parts_a_message_id_and_one_click_unsubscribe() {
        let from: Mailbox = "Movie Tickets <notifications@example.com>".parse().unwrap();
        let id = uuid::Uuid::now_v7();
        let content = mail("customer@example.com", Some("<p>Hi</p>"));
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
    fn a_message_without_html_is_plain_text_and_without_a_user_has_no_unsubscribe_link() {
        let from: Mailbox = "a@example.com".parse().unwrap();
        let raw = String::from_utf8(
            format(&from, uuid::Uuid::nil(), &mail("b@example.com", None), None)
                .unwrap()
                .formatted(),
        )
        .unwrap();
        assert!(!raw.contains("multipart"));
        assert!(raw.contains("MIME-Version: 1.0"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(!raw.contains("List-Unsubscribe"));
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
