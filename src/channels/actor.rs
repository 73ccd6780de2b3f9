//! The supervised actor that drives one channel's provider.
//!
//! The scheduler reserves an in-flight slot before it claims a row, so a
//! claimed delivery starts at once instead of waiting past its lease. While a
//! send is in flight its lease is renewed; the settle requires the same lease
//! token. A panic inside a provider is caught and recorded as a retryable
//! failure: the actor keeps serving. If the actor stops anyway, its
//! supervisor restarts it, and the sends it dropped come back when their
//! leases run out.

use super::breaker::Breakers;
use super::inflight::{InFlight, Tracked};
use super::{gate, settle_for, verdict, Provider, ProviderError, RetryPolicy};
use crate::bus::DueSignal;
use crate::persistence::deliveries::{self, Delivery, Settle, Settled};
use actix::prelude::*;
use futures_util::FutureExt;
use sea_orm::DatabaseConnection;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A claimed delivery, and the in-flight slot the scheduler reserved for it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dispatch {
    pub delivery: Delivery,
    pub slot: OwnedSemaphorePermit,
    /// Its lease, held in this node's [`InFlight`] until the handling ends.
    pub tracked: Option<Tracked>,
}

/// Stops the actor so its supervisor starts a fresh one. Its in-flight sends
/// are dropped; their rows come back through their leases.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Restart;

/// Everything a channel actor needs, cloned into each send.
#[derive(Clone)]
pub struct ChannelConfig {
    pub channel: crate::domain::Channel,
    pub provider: Arc<dyn Provider>,
    pub db: DatabaseConnection,
    pub policy: RetryPolicy,
    pub breakers: Breakers,
    /// How long a claim holds; renewed every third of it while a send runs.
    pub lease: Duration,
    /// The longest one provider call may take before it counts as a retryable failure.
    pub send_timeout: Duration,
    /// The slots the scheduler claims against; freeing one on a full channel wakes it.
    pub slots: Arc<Semaphore>,
    pub due: DueSignal,
    /// This node's leases in flight; a drain releases them, and then they are not renewed.
    pub inflight: InFlight,
    /// Provider call latency and delivery outcomes.
    pub metrics: crate::metrics::Metrics,
}

pub struct ChannelActor {
    cfg: ChannelConfig,
}

impl ChannelActor {
    pub fn new(cfg: ChannelConfig) -> Self {
        Self { cfg }
    }
}

impl Actor for ChannelActor {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        tracing::debug!(channel = %self.cfg.channel, "channel actor started");
    }
}

impl Supervised for ChannelActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!(
            provider = self.cfg.provider.name(),
            "channel actor restarting"
        );
    }
}

impl Handler<Restart> for ChannelActor {
    type Result = ();

    fn handle(&mut self, _: Restart, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

impl Handler<Dispatch> for ChannelActor {
    type Result = ();

    fn handle(&mut self, msg: Dispatch, ctx: &mut Self::Context) {
        let Dispatch {
            delivery,
            slot,
            tracked,
        } = msg;
        let cfg = self.cfg.clone();
        ctx.spawn(
            async move {
                // Nothing in one delivery's handling may take the actor down with it.
                let id = delivery.id;
                // The send continues the trace of the event (or /send) that produced it.
                let span = crate::trace::delivery_span(
                    id,
                    cfg.channel.as_str(),
                    delivery.traceparent.as_ref(),
                );
                if AssertUnwindSafe(tracing::Instrument::instrument(run(&cfg, delivery), span))
                    .catch_unwind()
                    .await
                    .is_err()
                {
                    tracing::error!(delivery = %id, "delivery handling panicked; its lease will bring it back");
                }
                drop(tracked);
                let was_full = cfg.slots.available_permits() == 0;
                drop(slot);
                if was_full {
                    cfg.due.ring();
                }
            }
            .into_actor(self),
        );
    }
}

/// One delivery, from the send-time gate to the fenced settle.
#[tracing::instrument(skip_all, fields(delivery = %delivery.id, channel = %cfg.channel))]
async fn run(cfg: &ChannelConfig, delivery: Delivery) {
    let db = &cfg.db;
    match gate(db, &delivery).await {
        Ok(None) => {}
        Ok(Some(held)) => return record(cfg, &delivery, &held, 0).await,
        // Unknown preferences: leave it to the lease and try again later.
        Err(e) => return tracing::warn!(error = %e, "could not check preferences"),
    }
    let key = cfg
        .provider
        .breaker_key(&delivery)
        .unwrap_or_else(|| cfg.channel.as_str().to_string());
    let ticket = if cfg.provider.keeps_own_breakers() {
        None
    } else {
        match cfg.breakers.get(&key).admit() {
            Ok(t) => Some(t),
            Err(wait) => {
                // The provider is down: defer without spending an attempt.
                let at = chrono::Utc::now() + lease_span(wait);
                let reason = format!("{key} circuit open");
                return record(cfg, &delivery, &Settle::Deferred { reason, at }, 0).await;
            }
        }
    };
    let started = Instant::now();
    let (result, said) = match send_renewing(cfg, &delivery).await {
        Ok(result) => {
            let said = verdict(&result);
            (result, said)
        }
        // Our bug, not the provider's state: retry later, tell the breaker nothing.
        Err(panic) => (
            Err(ProviderError::Retryable {
                reason: format!("provider panicked: {panic}"),
                retry_after: None,
            }),
            super::breaker::Verdict::Unknown,
        ),
    };
    let latency = started.elapsed().as_millis() as i64;
    cfg.metrics
        .provider_call(cfg.channel.as_str(), cfg.provider.name(), started.elapsed());
    if let Some(ticket) = ticket {
        ticket.record(said);
    }
    match &result {
        Ok(_) => tracing::info!(provider = cfg.provider.name(), latency, "delivered"),
        Err(e) => tracing::warn!(provider = cfg.provider.name(), error = %e, "send failed"),
    }
    let outcome = settle_for(&cfg.policy, delivery.attempts, &result);
    record(cfg, &delivery, &outcome, latency).await;
}

/// Sends, and renews the lease while the send is in flight. A panic inside the
/// provider comes back as `Err` with its message.
async fn send_renewing(
    cfg: &ChannelConfig,
    delivery: &Delivery,
) -> Result<Result<super::Sent, ProviderError>, String> {
    let send = AssertUnwindSafe(async { cfg.provider.send(delivery).await }).catch_unwind();
    tokio::pin!(send);
    let every = (cfg.lease / 3).max(Duration::from_millis(100));
    let mut renew = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let deadline = tokio::time::sleep(cfg.send_timeout);
    tokio::pin!(deadline);
    let outcome = loop {
        tokio::select! {
            r = &mut send => break r,
            _ = &mut deadline => {
                // The provider may still have taken it: a retry can duplicate, with the same ids.
                break Ok(Err(ProviderError::Retryable {
                    reason: format!("no answer within {} s", cfg.send_timeout.as_secs()),
                    retry_after: None,
                }));
            }
            _ = renew.tick() => {
                let Some(lease) = delivery.lease else { continue };
                if !cfg.inflight.renewing() {
                    continue;
                }
                let until = chrono::Utc::now() + lease_span(cfg.lease);
                match deliveries::renew(&cfg.db, delivery.id, lease.token, until).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(delivery = %delivery.id, "lease lost while sending; the outcome will be refused"),
                    Err(e) => tracing::warn!(delivery = %delivery.id, error = %e, "could not renew a lease"),
                }
            }
        }
    };
    outcome.map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        tracing::error!(provider = cfg.provider.name(), panic = %what, "provider panicked");
        what
    })
}

/// Tries at recording an outcome: a settle that never lands means the lease runs
/// out and a send the provider accepted goes out again.
const SETTLE_TRIES: u32 = 4;

fn lease_span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or_else(|_| chrono::Duration::seconds(30))
}

async fn record(cfg: &ChannelConfig, delivery: &Delivery, outcome: &Settle, latency: i64) {
    for attempt in 1..=SETTLE_TRIES {
        match deliveries::settle(&cfg.db, delivery, outcome, latency).await {
            Ok(Settled::Applied) => return cfg.metrics.delivery(cfg.channel.as_str(), outcome),
            Ok(Settled::Stale) => {
                return tracing::warn!(delivery = %delivery.id, "refused a stale sender's outcome: its lease was taken over");
            }
            Err(e) if attempt < SETTLE_TRIES => {
                tracing::warn!(delivery = %delivery.id, error = %e, attempt, "could not record a send outcome; trying again");
                tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
            }
            // The lease will run out and the delivery will be tried again.
            Err(e) => {
                tracing::error!(delivery = %delivery.id, error = %e, "could not record a send outcome")
            }
        }
    }
}
