//! Delivery channels. Each provider splits a pure formatter (payload
//! building, unit-tested) from a transport and classifies its errors. One
//! supervised actor per channel drives its provider. The database row is the
//! source of truth: an actor that restarts loses its in-flight sends, and
//! their leases, no longer renewed, bring them back.

mod actor;
pub mod breaker;
pub mod callbacks;
pub mod chat;
pub mod email;
mod gate;
pub mod inflight;
pub mod push;
mod retry;
pub mod scheduler;
pub mod sms;
pub mod sns;
pub mod start;
pub mod web_push;
pub mod webhook;

pub use actor::{ChannelActor, ChannelConfig, Dispatch, Restart};
pub use gate::gate;
pub use retry::RetryPolicy;

use crate::persistence::deliveries::{Delivery, Settle};
use breaker::Verdict;
use futures_util::future::BoxFuture;
use std::time::Duration;

/// How a provider failed, which decides what happens next.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Timeouts, 5xx, 429: try again later (no sooner than `retry_after`, when the provider says).
    #[error("temporary: {reason}")]
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The provider answered that this message cannot be delivered (a 4xx, a bad number).
    #[error("permanent: {0}")]
    Permanent(String),
    /// The device token is dead (APNs `Unregistered`, FCM `UNREGISTERED`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// Refused before any call to the provider: no device, a deleted endpoint, content that does not fit.
    #[error("not sendable: {0}")]
    Unsendable(String),
    /// Not tried: the provider's own circuit is open. Deferred without spending an attempt.
    #[error("deferred: {reason}")]
    Deferred { reason: String, wait: Duration },
}

impl ProviderError {
    /// A network-level failure, retried with backoff.
    pub fn network(e: impl std::fmt::Display) -> Self {
        Self::Retryable {
            reason: format!("network: {e}"),
            retry_after: None,
        }
    }
}

/// What a successful send reports.
#[derive(Clone, Debug, Default)]
pub struct Sent {
    pub provider_message_id: Option<String>,
}

/// One channel's provider: takes a claimed delivery and sends it.
pub trait Provider: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// The breaker this delivery counts against, when finer than the channel's
    /// own: webhooks have one per endpoint.
    fn breaker_key(&self, _delivery: &Delivery) -> Option<String> {
        None
    }

    /// A provider that reaches several services per delivery (push: FCM and
    /// APNs) keeps one breaker per service itself; the channel's is then unused.
    fn keeps_own_breakers(&self) -> bool {
        false
    }

    fn send<'a>(&'a self, delivery: &'a Delivery) -> BoxFuture<'a, Result<Sent, ProviderError>>;
}

/// What a send's result says about the provider, for its breaker.
pub fn verdict(result: &Result<Sent, ProviderError>) -> Verdict {
    match result {
        Ok(_) | Err(ProviderError::Permanent(_) | ProviderError::InvalidToken(_)) => Verdict::Up,
        Err(ProviderError::Retryable { .. }) => Verdict::Down,
        Err(ProviderError::Unsendable(_) | ProviderError::Deferred { .. }) => Verdict::Unknown,
    }
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
        Err(ProviderError::Permanent(reason) | ProviderError::Unsendable(reason)) => {
            Settle::Failed {
                error: reason.clone(),
            }
        }
        Err(ProviderError::InvalidToken(reason)) => Settle::InvalidToken {
            error: reason.clone(),
        },
        Err(ProviderError::Deferred { reason, wait }) => Settle::Deferred {
            reason: reason.clone(),
            at: chrono::Utc::now()
                + chrono::Duration::from_std(*wait)
                    .unwrap_or_else(|_| chrono::Duration::seconds(30)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_class_has_a_breaker_verdict_and_a_next_state() {
        let policy = RetryPolicy::default();
        let retry = Err(ProviderError::network("reset"));
        assert_eq!(verdict(&retry), Verdict::Down);
        assert!(matches!(
            settle_for(&policy, 0, &retry),
            Settle::Retry { .. }
        ));
        assert!(matches!(
            settle_for(&policy, policy.max_attempts, &retry),
            Settle::Failed { .. }
        ));
        let refused = Err(ProviderError::Permanent("HTTP 400".into()));
        assert_eq!(verdict(&refused), Verdict::Up, "the provider answered");
        let unsendable = Err(ProviderError::Unsendable("no devices".into()));
        assert_eq!(verdict(&unsendable), Verdict::Unknown);
        assert!(matches!(
            settle_for(&policy, 0, &Err(ProviderError::InvalidToken("gone".into()))),
            Settle::InvalidToken { .. }
        ));
    }
}
