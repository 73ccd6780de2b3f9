//! Email over SMTP (lettre), or `.eml` files under `data/outbox/` when no
//! SMTP server is configured. `format` is pure; `transport` sends.

mod format;
mod transport;

pub use format::{format, UnsubscribeSigner};
pub use transport::{smtp_transport, EmailTransport, RuntimeBound};

use super::breaker::{CircuitBreaker, Verdict};
use super::{Provider, ProviderError, Sent};
use crate::domain::DeliveryContent;
use crate::persistence::deliveries::Delivery;
use futures_util::future::BoxFuture;
use lettre::message::Mailbox;
use lettre::AsyncFileTransport;
use std::sync::Arc;
use transport::deliver;

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
                // Owner-only: the .eml files hold people's addresses and messages.
                crate::persistence::files::private_dir(&outbox)
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
