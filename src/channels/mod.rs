//! Delivery channels. Each provider splits a pure formatter (payload
//! building, unit-tested) from a transport. One supervised actor per channel
//! drives its provider with bounded concurrency. The database row is the
//! source of truth: an actor that restarts loses its in-flight messages, and
//! their expired leases bring them back.

pub mod apns;
pub mod breaker;
pub mod callbacks;
pub mod email;
pub mod push;
mod retry;
pub mod scheduler;
pub mod sms;
pub mod sns;
pub mod webhook;

pub use retry::RetryPolicy;

use crate::persistence::deliveries::{self, Settle};
use actix::prelude::*;
use entity::deliveries as d;
use futures_util::future::BoxFuture;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a provider failed, which decides what happens next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Timeouts, 5xx, 429: try again later (no sooner than `retry_after`, when the provider says).
    #[error("temporary: {reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// 4xx, an invalid recipient: trying again cannot help.
    #[error("permanent: {0}")]
    Permanent(String),
    /// The device token is dead (APNs `Unregistered`, FCM `UNREGISTERED`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
}

/// What a successful send reports.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub provider_message_id: Option<String>,
}

/// One channel's provider: takes a claimed delivery and sends it.
pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn send(&self, delivery: &d::Model) -> BoxFuture<'_, Result<Sent, ProviderError>>;
}

/// A claimed delivery for a channel actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dispatch(pub d::Model);

/// Drives one provider. Supervised: if it panics it is restarted, and what it
/// was sending comes back when the leases expire.
pub struct ChannelActor {
    provider: Arc<dyn Provider>,
    db: DatabaseConnection,
    limit: Arc<tokio::sync::Semaphore>,
    policy: RetryPolicy,
    breaker: Arc<breaker::CircuitBreaker>,
}

impl ChannelActor {
    pub fn new(
        provider: Arc<dyn Provider>,
        db: DatabaseConnection,
        concurrency: usize,
        policy: RetryPolicy,
        breaker: Arc<breaker::CircuitBreaker>,
    ) -> Self {
        Self {
            provider,
            db,
            limit: Arc::new(tokio::sync::Semaphore::new(concurrency.max(1))),
            policy,
            breaker,
        }
    }
}

impl Actor for ChannelActor {
    type Context = Context<Self>;
}

impl Supervised for ChannelActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!(provider = self.provider.name(), "channel actor restarting");
    }
}

/// Preferences and quiet hours, checked again when the delivery is about to go:
/// the user may have turned the channel off, or the send may now fall inside
/// their quiet hours, since it was queued. `None` means send.
pub async fn gate(
    db: &DatabaseConnection,
    delivery: &d::Model,
) -> Result<Option<Settle>, crate::persistence::StoreError> {
    use crate::domain::{Category, Channel, Priority, UserId};
    let (Some(user), Ok(channel)) = (
        delivery.user_id.as_deref(),
        Channel::parse(&delivery.channel),
    ) else {
        return Ok(None); // webhooks go to endpoints, not users
    };
    if matches!(channel, Channel::InApp | Channel::Webhook) {
        return Ok(None);
    }
    let Ok(user) = UserId::parse(user) else {
        return Ok(None);
    };
    let content: serde_json::Value = serde_json::from_str(&delivery.content).unwrap_or_default();
    let category = content["category"]
        .as_str()
        .and_then(|c| Category::parse(c).ok())
        .unwrap_or_else(Category::default_category);
    let priority = Priority::from_stored(content["priority"].as_str().unwrap_or("normal"));
    let prefs = crate::persistence::preferences::get(db, &user).await?;
    if !prefs.allows(channel, &category) {
        return Ok(Some(Settle::Suppressed {
            reason: format!(
                "{channel} for '{}' was turned off before sending",
                category.as_str()
            ),
        }));
    }
    if let Some(at) = prefs.quiet_until(priority, chrono::Utc::now()) {
        return Ok(Some(Settle::Deferred {
            reason: "quiet hours".into(),
            at,
        }));
    }
    Ok(None)
}

/// Turns a provider result into the row's next state.
pub fn settle_for(
    policy: &RetryPolicy,
    attempts_before: i32,
    result: &Result<Sent, ProviderError>,
) -> Settle {
    match result {
        Ok(sent) => Settle::Sent {
            provider_message_id: sent.provider_message_id.clone(),
        },
        Err(ProviderError::Retryable {
            reason,
            retry_after,
        }) => match policy.next_attempt(attempts_before + 1, *retry_after) {
            Some(at) => Settle::Retry {
                error: reason.clone(),
                at,
            },
            None => Settle::Failed {
                error: format!("gave up after {} attempts: {reason}", attempts_before + 1),
            },
        },
        Err(ProviderError::Permanent(reason)) => Settle::Failed {
            error: reason.clone(),
        },
        Err(ProviderError::InvalidToken(reason)) => Settle::InvalidToken {
            error: reason.clone(),
        },
    }
}

impl Handler<Dispatch> for ChannelActor {
    type Result = ();

    fn handle(&mut self, Dispatch(delivery): Dispatch, ctx: &mut Self::Context) {
        let (provider, db, limit, policy, breaker) = (
            self.provider.clone(),
            self.db.clone(),
            self.limit.clone(),
            self.policy.clone(),
            self.breaker.clone(),
        );
        ctx.spawn(
            async move {
                let Ok(_permit) = limit.acquire_owned().await else { return };
                match gate(&db, &delivery).await {
                    Ok(None) => {}
                    Ok(Some(held)) => {
                        if let Err(e) = deliveries::settle(&db, &delivery, &held, 0).await {
                            tracing::warn!(delivery = %delivery.id, error = %e, "could not hold back a delivery");
                        }
                        return;
                    }
                    // Unknown preferences: leave it to the lease and try again later.
                    Err(e) => return tracing::warn!(delivery = %delivery.id, error = %e, "could not check preferences"),
                }
                if let Err(wait) = breaker.allow() {
                    // The provider is down: defer without spending an attempt.
                    let at = chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    let deferred = Settle::Deferred { reason: format!("{} circuit open", provider.name()), at };
                    if let Err(e) = deliveries::settle(&db, &delivery, &deferred, 0).await {
                        tracing::warn!(delivery = %delivery.id, error = %e, "could not defer a delivery");
                    }
                    return;
                }
                let started = Instant::now();
                let result = provider.send(&delivery).await;
                let latency = started.elapsed().as_millis() as i64;
                match &result {
                    Ok(_) => breaker.success(),
                    Err(ProviderError::Retryable { .. }) => breaker.failure(),
                    Err(_) => {}
                }
                let outcome = settle_for(&policy, delivery.attempts, &result);
                match &result {
                    Ok(_) => tracing::info!(delivery = %delivery.id, provider = provider.name(), latency, "delivered"),
                    Err(e) => tracing::warn!(delivery = %delivery.id, provider = provider.name(), error = %e, "send failed"),
                }
                if let Err(e) = deliveries::settle(&db, &delivery, &outcome, latency).await {
                    // The lease will expire and the delivery will be retried.
                    tracing::error!(delivery = %delivery.id, error = %e, "could not record a send outcome");
                }
            }
            .into_actor(self),
        );
    }
}
