//! Native Web Push (RFC 8030) to browsers, without Firebase: each of the
//! user's subscriptions gets the message encrypted to its keys (RFC 8291
//! `aes128gcm`) and signed for its push service with Herald's VAPID key (RFC 8292).
//!
//! Subscriptions are devices with provider `web_push`: the endpoint is the
//! token, the keys sit beside it. A push service answering 404 or 410 has
//! dropped the subscription, so the device is deactivated.

pub mod crypto;
pub mod format;
pub mod transport;
pub mod vapid;

pub use transport::{HttpTransport, PushAnswer, PushRequest, PushTransport};
pub use vapid::Vapid;

use super::breaker::Breakers;
use super::start::SetupError;
use super::{Provider, ProviderError, Sent};
use crate::domain::{DeliveryContent, PushProvider, WebPushSubscription};
use crate::persistence::deliveries::Delivery;
use crate::persistence::devices;
use format::WebPushMessage;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// What the HTTP routes need: the key browsers subscribe with, and whether
/// subscriptions may name private or plain-http push services.
#[derive(Clone, Debug)]
pub struct WebPushRoutes {
    pub public_key: String,
    pub allow_private: bool,
}

impl WebPushRoutes {
    pub fn from_settings(settings: &crate::config::Settings) -> Result<Self, SetupError> {
        let vapid = Vapid::from_settings(settings).map_err(|e| SetupError(e.to_string()))?;
        Ok(Self {
            public_key: vapid.public_key().to_string(),
            allow_private: settings.web_push_allow_private,
        })
    }
}

/// Sends a `web_push` delivery to every active subscription of its user.
pub struct WebPushProvider {
    db: DatabaseConnection,
    vapid: Vapid,
    transport: Arc<dyn PushTransport>,
    /// One breaker per push service origin: one failing service (or a
    /// subscriber's own endpoint) must not hold back the others.
    breakers: Breakers,
}

impl WebPushProvider {
    pub fn new(
        db: DatabaseConnection,
        vapid: Vapid,
        transport: Arc<dyn PushTransport>,
        breakers: Breakers,
    ) -> Self {
        Self {
            db,
            vapid,
            transport,
            breakers,
        }
    }

    /// From `HERALD_VAPID_*` and `HERALD_WEB_PUSH_ALLOW_PRIVATE`; always on,
    /// since the key is generated when none is configured.
    pub fn from_settings(
        settings: &crate::config::Settings,
        db: &DatabaseConnection,
        breakers: &Breakers,
    ) -> Result<Self, SetupError> {
        let vapid = Vapid::from_settings(settings).map_err(|e| SetupError(e.to_string()))?;
        if vapid.subject().ends_with("@localhost") {
            // Info, not a warning: a development server has no public contact to give.
            tracing::info!(subject = vapid.subject(), "set HERALD_VAPID_SUBJECT (or an https HERALD_PUBLIC_URL): push services may refuse a VAPID contact at localhost");
        }
        let transport = HttpTransport::new(settings.web_push_allow_private)
            .map_err(|e| SetupError(format!("cannot build the Web Push HTTP client: {e}")))?;
        Ok(Self::new(
            db.clone(),
            vapid,
            Arc::new(transport),
            breakers.clone(),
        ))
    }

    async fn subscriptions(
        &self,
        user: &crate::domain::UserId,
    ) -> Result<Vec<WebPushSubscription>, ProviderError> {
        let rows = devices::list(&self.db, user)
            .await
            .map_err(|e| ProviderError::Retryable {
                reason: e.to_string(),
                retry_after: None,
            })?;
        Ok(rows
            .into_iter()
            .filter(|d| d.active && d.provider == PushProvider::WebPush.as_str())
            .filter_map(|d| {
                let keys = d.web_push_keys.as_deref().unwrap_or_default();
                WebPushSubscription::from_stored(&d.token, keys)
                    .map_err(|e| tracing::warn!(device = %d.id, error = %e, "skipped an unreadable Web Push subscription"))
                    .ok()
            })
            .collect())
    }

    /// Encrypts, signs and posts to one subscription.
    #[tracing::instrument(skip_all, fields(origin = %sub.origin()))]
    async fn send_one(
        &self,
        sub: &WebPushSubscription,
        payload: &[u8],
        queueing: &format::Queueing,
    ) -> Result<Option<String>, ProviderError> {
        let body = crypto::encrypt(payload, sub.p256dh(), sub.auth())
            .map_err(|e| ProviderError::Permanent(e.to_string()))?;
        let origin = sub.origin();
        let request = PushRequest {
            endpoint: sub.endpoint().to_string(),
            authorization: self
                .vapid
                .authorization(&origin, chrono::Utc::now().timestamp()),
            queueing: queueing.clone(),
            body,
        };
        let breaker = format!("web_push:{origin}");
        super::push::guarded(&self.breakers, &breaker, async {
            let answer = self.transport.post(request).await?;
            transport::classify(&answer).map(|id| id.unwrap_or_default())
        })
        .await
        .map(|id| Some(id).filter(|id| !id.is_empty()))
    }

    #[tracing::instrument(skip_all, fields(delivery = %delivery.id))]
    async fn deliver(&self, delivery: &Delivery) -> Result<Sent, ProviderError> {
        let DeliveryContent::WebPush(content) = &delivery.content else {
            return Err(ProviderError::Unsendable(format!(
                "{} content on the web_push channel",
                delivery.channel
            )));
        };
        let user = delivery.user.as_ref().ok_or_else(|| {
            ProviderError::Unsendable("a web_push delivery without a user".into())
        })?;
        let message = WebPushMessage {
            content,
            delivery_id: delivery.id,
            notification_id: delivery.notification_id,
            priority: delivery.priority,
            category: &delivery.category,
        };
        let payload = serde_json::to_vec(&format::payload(&message))
            .map_err(|e| ProviderError::Permanent(e.to_string()))?;
        if payload.len() > crypto::MAX_PLAINTEXT {
            return Err(ProviderError::Permanent(
                crypto::CryptoError::TooLarge(payload.len()).to_string(),
            ));
        }
        let queueing = format::queueing(&message);
        let subs = self.subscriptions(user).await?;
        if subs.is_empty() {
            return Err(ProviderError::Unsendable(
                "the user has no active Web Push subscriptions".into(),
            ));
        }
        let (mut sent, mut retry, mut errors) = (vec![], None, vec![]);
        for sub in &subs {
            match self.send_one(sub, &payload, &queueing).await {
                Ok(id) => sent.push(id),
                Err(ProviderError::InvalidToken(reason)) => {
                    // A dropped subscription never comes back; failing the
                    // delivery here would resend to the ones that took it.
                    match devices::deactivate(&self.db, sub.endpoint()).await {
                        Ok(()) => {
                            tracing::info!(origin = %sub.origin(), reason, "deactivated a dropped Web Push subscription")
                        }
                        Err(e) => {
                            tracing::warn!(origin = %sub.origin(), error = %e, "could not deactivate a dropped Web Push subscription")
                        }
                    }
                    errors.push(format!("{}: {reason}", sub.origin()));
                }
                Err(e @ (ProviderError::Retryable { .. } | ProviderError::Deferred { .. })) => {
                    if !matches!(retry, Some(ProviderError::Retryable { .. })) {
                        retry = Some(e);
                    }
                }
                Err(e) => errors.push(format!("{}: {e}", sub.origin())),
            }
        }
        match (sent.is_empty(), retry) {
            // The push services' message URLs when they gave them, else one
            // id of Herald's, so a click report can find the delivery.
            (false, _) => {
                let ids: Vec<String> = sent.into_iter().flatten().collect();
                let id = if ids.is_empty() {
                    format!("web_push:{}", delivery.id)
                } else {
                    ids.join(",")
                };
                Ok(Sent {
                    provider_message_id: Some(id),
                })
            }
            (true, Some(e)) => Err(e),
            (true, None) => Err(ProviderError::Permanent(errors.join("; "))),
        }
    }
}

impl Provider for WebPushProvider {
    fn name(&self) -> &'static str {
        "web_push"
    }

    fn keeps_own_breakers(&self) -> bool {
        true
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>> {
        Box::pin(self.deliver(delivery))
    }
}
