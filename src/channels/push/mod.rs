//! Push to every active device of a user: FCM for devices registered with
//! provider `fcm`, APNs (through `a2`) for `apns`.

pub mod apns;
mod fcm;

pub use fcm::{classify, fcm_message, FcmClient, FCM_SCOPE};

use super::breaker::{Breakers, Verdict};
use super::{Provider, ProviderError, Sent};
use crate::domain::{DeliveryContent, Priority, PushContent};
use crate::persistence::deliveries::Delivery;
use crate::persistence::devices;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use serde_json::Value;

/// One push, as the FCM and APNs formatters read it.
#[derive(Clone, Debug)]
pub struct PushMessage<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub data: Option<&'a Value>,
    pub action_url: Option<&'a str>,
    pub notification_id: Option<String>,
    pub category: &'a str,
    /// `high` and `critical` priority: delivered at once, waking the device.
    pub urgent: bool,
}

impl<'a> PushMessage<'a> {
    pub fn of(delivery: &'a Delivery, content: &'a PushContent) -> Self {
        Self {
            title: &content.title,
            body: &content.body,
            data: content.data.as_ref(),
            action_url: content.action_url.as_deref(),
            notification_id: delivery.notification_id.map(|id| id.to_string()),
            category: delivery.category.as_str(),
            urgent: matches!(delivery.priority, Priority::High | Priority::Critical),
        }
    }
}

/// Sends a push delivery to every active device of its user.
pub struct PushProvider {
    db: DatabaseConnection,
    fcm: Option<FcmClient>,
    apns: Option<apns::Apns>,
    /// One breaker per service (`push:fcm`, `push:apns`): an FCM outage must not defer iOS pushes over APNs.
    breakers: Breakers,
}

impl PushProvider {
    pub fn new(
        db: DatabaseConnection,
        fcm: Option<FcmClient>,
        apns: Option<apns::Apns>,
        breakers: Breakers,
    ) -> Self {
        if fcm.is_some() {
            breakers.get(FCM_BREAKER);
        }
        if apns.is_some() {
            breakers.get(APNS_BREAKER);
        }
        Self {
            db,
            fcm,
            apns,
            breakers,
        }
    }

    /// From `HERALD_FCM_*` and `HERALD_APNS_*`; either, both or neither may be configured.
    pub fn from_settings(
        settings: &crate::config::Settings,
        db: &DatabaseConnection,
        breakers: &Breakers,
    ) -> Result<Self, crate::channels::start::SetupError> {
        use secrecy::ExposeSecret;
        let fcm = match &settings.fcm_service_account_json {
            Some(json) => Some(
                FcmClient::new(
                    &settings.fcm_base_url,
                    json.expose_secret(),
                    crate::channels::start::http_client()?,
                )
                .map_err(crate::channels::start::SetupError)?,
            ),
            None => None,
        };
        let apns = apns::Apns::from_settings(settings)?;
        Ok(Self::new(db.clone(), fcm, apns, breakers.clone()))
    }

    async fn deliver(&self, delivery: &Delivery) -> Result<Sent, ProviderError> {
        let DeliveryContent::Push(push) = &delivery.content else {
            return Err(ProviderError::Unsendable(format!(
                "{} content on the push channel",
                delivery.channel
            )));
        };
        let content = PushMessage::of(delivery, push);
        let user = delivery
            .user
            .as_ref()
            .ok_or_else(|| ProviderError::Unsendable("a push delivery without a user".into()))?;
        let store = |e: crate::persistence::StoreError| ProviderError::Retryable {
            reason: e.to_string(),
            retry_after: None,
        };
        let targets: Vec<_> = devices::list(&self.db, user)
            .await
            .map_err(store)?
            .into_iter()
            // Web Push subscriptions have a channel of their own.
            .filter(|d| d.active && d.provider != crate::domain::PushProvider::WebPush.as_str())
            .collect();
        if targets.is_empty() {
            return Err(ProviderError::Unsendable(
                "the user has no active devices".into(),
            ));
        }
        let (mut sent, mut retry, mut errors) = (vec![], None, vec![]);
        for dev in targets {
            let result = match (dev.provider.as_str(), &self.fcm, &self.apns) {
                ("fcm", Some(fcm), _) => {
                    guarded(&self.breakers, FCM_BREAKER, async {
                        fcm.send(&dev.token, &dev.platform, &content).await
                    })
                    .await
                }
                ("fcm", None, _) => Err(ProviderError::Permanent("FCM is not configured".into())),
                ("apns", _, Some(apns)) => {
                    // The badge shows the user's unread count.
                    let badge = crate::persistence::notifications::unread_count(&self.db, user)
                        .await
                        .map_err(store)?;
                    let badge = u32::try_from(badge).unwrap_or(u32::MAX);
                    guarded(&self.breakers, APNS_BREAKER, async {
                        apns.send(&dev.token, &content, badge)
                            .await
                            .map(|s| s.provider_message_id.unwrap_or_default())
                    })
                    .await
                }
                _ => Err(ProviderError::Permanent("APNs is not configured".into())),
            };
            match result {
                Ok(id) => sent.push(id),
                Err(ProviderError::InvalidToken(reason)) => {
                    // A dead token never comes back: stop sending to it.
                    // Failing here would resend to the devices that already got it.
                    match devices::deactivate(&self.db, &dev.token).await {
                        Ok(_) => {
                            tracing::info!(device = %dev.id, reason, "deactivated a device with a dead push token")
                        }
                        Err(e) => {
                            tracing::warn!(device = %dev.id, error = %e, "could not deactivate a dead push token")
                        }
                    }
                    errors.push(format!("{}: invalid token", dev.platform));
                }
                Err(e @ (ProviderError::Retryable { .. } | ProviderError::Deferred { .. })) => {
                    // A real failure wins over a deferral: it spends an attempt and backs off.
                    if !matches!(retry, Some(ProviderError::Retryable { .. })) {
                        retry = Some(e);
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        match (sent.is_empty(), retry) {
            (false, _) => Ok(Sent {
                provider_message_id: Some(sent.join(",")),
            }),
            (true, Some(e)) => Err(e),
            (true, None) => Err(ProviderError::Permanent(errors.join("; "))),
        }
    }
}

const FCM_BREAKER: &str = "push:fcm";
const APNS_BREAKER: &str = "push:apns";

/// One call to a push service behind its breaker: deferred while it is open,
/// and its outcome recorded (any answer closes it, a retryable failure counts).
pub(crate) async fn guarded(
    breakers: &Breakers,
    name: &str,
    call: impl std::future::Future<Output = Result<String, ProviderError>>,
) -> Result<String, ProviderError> {
    let ticket = breakers
        .get(name)
        .admit()
        .map_err(|wait| ProviderError::Deferred {
            reason: format!("{name} circuit open"),
            wait,
        })?;
    let result = call.await;
    ticket.record(match &result {
        Err(ProviderError::Retryable { .. }) => Verdict::Down,
        Err(ProviderError::Unsendable(_) | ProviderError::Deferred { .. }) => Verdict::Unknown,
        _ => Verdict::Up,
    });
    result
}

impl Provider for PushProvider {
    fn name(&self) -> &'static str {
        "push"
    }

    fn keeps_own_breakers(&self) -> bool {
        true
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>> {
        use tracing::Instrument;
        let span = tracing::info_span!("push_send", delivery = %delivery.id);
        Box::pin(async move { self.deliver(delivery).await }.instrument(span))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn each_push_service_has_its_own_breaker_and_an_open_one_defers() {
        let breakers = Breakers::new(1, Duration::from_secs(60));
        let down = guarded(&breakers, FCM_BREAKER, async {
            Err(ProviderError::network("connection refused"))
        })
        .await;
        assert!(matches!(down, Err(ProviderError::Retryable { .. })));
        let deferred = guarded(&breakers, FCM_BREAKER, async { Ok("never".into()) }).await;
        assert!(matches!(deferred, Err(ProviderError::Deferred { .. })));
        let apns = guarded(&breakers, APNS_BREAKER, async { Ok("apns-1".into()) }).await;
        assert_eq!(
            apns.ok().as_deref(),
            Some("apns-1"),
            "APNs is not held back by FCM"
        );
        assert_eq!(breakers.get(APNS_BREAKER).describe(), "closed");
        let refused = guarded(&breakers, APNS_BREAKER, async {
            Err(ProviderError::Permanent("BadTopic".into()))
        })
        .await;
        assert!(refused.is_err());
        assert_eq!(
            breakers.get(APNS_BREAKER).describe(),
            "closed",
            "an answer is a sign of life"
        );
    }
}
