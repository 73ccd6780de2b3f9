//! Builds every configured provider from its own settings, starts one
//! supervised actor per channel and the scheduler that feeds them.

use super::breaker::Breakers;
use super::email::{EmailProvider, UnsubscribeSigner};
use super::inflight::InFlight;
use super::push::PushProvider;
use super::scheduler::{DueSignal, Lane, Scheduler};
use super::sms::SmsProvider;
use super::web_push::WebPushProvider;
use super::webhook::WebhookProvider;
use super::{ChannelActor, ChannelConfig, Dispatch, Provider, Restart, RetryPolicy};
use crate::config::Settings;
use crate::domain::Channel;
use actix::Recipient;
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// A provider's settings do not make sense; the message names the variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// A channel and the provider that sends on it.
pub type ChannelProvider = (Channel, Arc<dyn Provider>);

/// What the running channels expose.
pub struct Channels {
    pub breakers: Breakers,
    pub restarts: HashMap<Channel, Recipient<Restart>>,
    /// Leases of sends in flight on this node, for the drain.
    pub inflight: InFlight,
    /// The scheduler loop; it ends once `shutdown` turns true.
    pub scheduler: tokio::task::JoinHandle<()>,
}

/// Every built-in provider that is configured. Email always is (without SMTP it writes `.eml` files).
pub fn providers(
    settings: &Settings,
    db: &DatabaseConnection,
    unsubscribe: &UnsubscribeSigner,
    breakers: &Breakers,
) -> Result<Vec<ChannelProvider>, SetupError> {
    let mut out: Vec<ChannelProvider> = vec![(
        Channel::Email,
        Arc::new(EmailProvider::from_settings(settings, unsubscribe)?),
    )];
    if let Some(sms) = SmsProvider::from_settings(settings)? {
        out.push((Channel::Sms, Arc::new(sms)));
    }
    out.push((
        Channel::Push,
        Arc::new(PushProvider::from_settings(settings, db, breakers)?),
    ));
    out.push((
        Channel::Webhook,
        Arc::new(WebhookProvider::from_settings(settings, db)?),
    ));
    out.extend(super::chat::providers(settings, db)?);
    out.push((
        Channel::WebPush,
        Arc::new(WebPushProvider::from_settings(settings, db, breakers)?),
    ));
    Ok(out)
}

/// Every breaker, with the configured threshold and cooldown.
pub fn breakers(settings: &Settings) -> Breakers {
    Breakers::new(
        settings.delivery_breaker_threshold,
        Duration::from_millis(settings.delivery_breaker_cooldown_ms),
    )
}

/// Starts the channels: `extra` providers replace the built-in one of the same channel.
// Each argument is a part startup owns and hands over once; a struct would only restate them.
#[allow(clippy::too_many_arguments)]
pub fn start(
    settings: &Settings,
    db: &DatabaseConnection,
    mut providers: Vec<ChannelProvider>,
    extra: Vec<ChannelProvider>,
    due: DueSignal,
    shutdown: tokio::sync::watch::Receiver<bool>,
    breakers: Breakers,
    metrics: crate::metrics::Metrics,
) -> Channels {
    let policy = RetryPolicy {
        max_attempts: settings.delivery_max_attempts,
        base: Duration::from_millis(settings.delivery_retry_base_ms),
        ..RetryPolicy::default()
    };
    for (channel, provider) in extra {
        providers.retain(|(c, _)| *c != channel);
        providers.push((channel, provider));
    }
    let lease = Duration::from_secs(settings.delivery_lease_secs.max(1));
    let mut lanes = vec![];
    let mut restarts = HashMap::new();
    let inflight = InFlight::default();
    for (channel, provider) in providers {
        // Made now, so `/ready` and `/metrics` show every breaker from the start.
        if channel != Channel::Webhook && !provider.keeps_own_breakers() {
            breakers.get(channel.as_str());
        }
        let slots = Arc::new(tokio::sync::Semaphore::new(
            settings.delivery_concurrency.max(1),
        ));
        let cfg = ChannelConfig {
            channel,
            provider,
            db: db.clone(),
            policy: policy.clone(),
            breakers: breakers.clone(),
            lease,
            send_timeout: Duration::from_secs(settings.delivery_send_timeout_secs.max(1)),
            slots: slots.clone(),
            due: due.clone(),
            inflight: inflight.clone(),
            metrics: metrics.clone(),
        };
        let addr = actix::Supervisor::start(move |_| ChannelActor::new(cfg));
        restarts.insert(channel, addr.clone().recipient::<Restart>());
        lanes.push(Lane {
            channel,
            actor: addr.recipient::<Dispatch>(),
            slots,
        });
    }
    let scheduler =
        actix::spawn(Scheduler::new(db.clone(), lanes, due, lease, inflight.clone()).run(shutdown));
    Channels {
        breakers,
        restarts,
        inflight,
        scheduler,
    }
}

/// One HTTP client per provider: each keeps its own connection pool.
pub(crate) fn http_client() -> Result<reqwest::Client, SetupError> {
    reqwest::Client::builder()
        .build()
        .map_err(|e| SetupError(format!("cannot build an HTTP client: {e}")))
}
