//! One keyed GCRA bucket (governor), and what a decision tells the caller.

use super::{Policy, RateLimitError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use std::hash::Hash;
use std::time::Duration;

type Inner<K, C> = RateLimiter<K, DashMapStateStore<K>, C, StateInformationMiddleware>;

/// Where a caller stands against one policy, in the terms of the IETF
/// RateLimit fields: a quota of `quota` requests per `window_secs`, of which
/// `remaining` are left, all of them back within `reset_secs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub policy: Policy,
    pub quota: u32,
    pub window_secs: u64,
    pub remaining: u32,
    pub reset_secs: u64,
}

/// A token bucket per key. Keys are verified identities, so the map grows
/// only with real callers, and [`KeyedLimit::sweep`] drops the idle ones.
pub struct KeyedLimit<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    policy: Policy,
    quota: Quota,
    limiter: Inner<K, C>,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    pub fn new(policy: Policy, quota: Quota) -> Self {
        Self::with_clock(policy, quota, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock> KeyedLimit<K, C> {
    /// With a clock of the caller's choosing (tests use a fake one).
    pub fn with_clock(policy: Policy, quota: Quota, clock: C) -> Self {
        Self {
            policy,
            quota,
            limiter: RateLimiter::dashmap_with_clock(quota, clock)
                .with_middleware::<StateInformationMiddleware>(),
        }
    }

    /// Spends one request of `key`'s bucket, or says how long to wait.
    pub fn check(&self, key: &K) -> Result<Standing, RateLimitError> {
        let burst = self.quota.burst_size().get();
        let interval = self.quota.replenish_interval();
        match self.limiter.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let spent = burst.saturating_sub(remaining);
                Ok(self.standing(remaining, interval.saturating_mul(spent)))
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.limiter.clock().now());
                // The next request fits after `wait`; the rest of the burst one interval each after that.
                let full = wait.saturating_add(interval.saturating_mul(burst.saturating_sub(1)));
                Err(RateLimitError::Exceeded {
                    standing: self.standing(0, full),
                    retry_after_secs: whole_secs(wait).max(1),
                })
            }
        }
    }

    fn standing(&self, remaining: u32, until_full: Duration) -> Standing {
        Standing {
            policy: self.policy,
            quota: self.quota.burst_size().get(),
            window_secs: whole_secs(self.quota.burst_size_replenished_in()).max(1),
            remaining,
            reset_secs: whole_secs(until_full),
        }
    }

    /// Forgets keys whose bucket has refilled: they are indistinguishable from new ones.
    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Keys currently tracked.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

/// Rounded up: a client told "0" would retry at once and be refused again.
pub(crate) fn whole_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
