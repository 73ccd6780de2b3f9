//! Request rate limits: a GCRA token bucket per user token and per API key,
//! and an hourly quota on `POST /notifications/test`, all with governor.
//! Buckets are keyed by what authentication verified (a token's user id, a
//! key's id), never by a raw secret, and idle buckets are swept, so memory
//! stays proportional to the callers active within one refill window.

mod limiter;
#[cfg(test)]
mod tests;

pub use limiter::{KeyedLimit, Standing};

use crate::auth::KeyId;
use crate::config::RateLimitSettings;
use crate::domain::UserId;
use governor::Quota;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// How often idle buckets are forgotten. The user and key buckets refill in
/// seconds; a minute keeps the sweep's cost negligible.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Which limit a decision came from; its name is the policy's name in the
/// RateLimit fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    User,
    ApiKey,
    Test,
}

impl Policy {
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::ApiKey => "api_key",
            Self::Test => "test",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    #[error("{setting} must be at least 1 when its rate is set")]
    InvalidSetting { setting: &'static str },
    #[error("too many requests: the '{}' limit allows {} per {} s; retry in {retry_after_secs} s",
        standing.policy.name(), standing.quota, standing.window_secs)]
    Exceeded {
        standing: Standing,
        retry_after_secs: u64,
    },
}

/// Every limit, built once at startup; `None` means unlimited.
pub struct RateLimits {
    user: Option<KeyedLimit<UserId>>,
    api_key: Option<KeyedLimit<KeyId>>,
    test: Option<KeyedLimit<UserId>>,
}

fn per_second(
    rate: u32,
    burst: u32,
    setting: &'static str,
) -> Result<Option<Quota>, RateLimitError> {
    let Some(rate) = NonZeroU32::new(rate) else {
        return Ok(None);
    };
    let burst = NonZeroU32::new(burst).ok_or(RateLimitError::InvalidSetting { setting })?;
    Ok(Some(Quota::per_second(rate).allow_burst(burst)))
}

impl RateLimits {
    pub fn new(s: &RateLimitSettings) -> Result<Self, RateLimitError> {
        let user = per_second(s.user_per_sec, s.user_burst, "rate_limit.user_burst")?;
        let api_key = per_second(
            s.api_key_per_sec,
            s.api_key_burst,
            "rate_limit.api_key_burst",
        )?;
        // The whole hour's allowance may be used at once; it then returns one call per 3600/n s.
        let test = NonZeroU32::new(s.test_per_user_per_hour).map(Quota::per_hour);
        Ok(Self {
            user: user.map(|q| KeyedLimit::new(Policy::User, q)),
            api_key: api_key.map(|q| KeyedLimit::new(Policy::ApiKey, q)),
            test: test.map(|q| KeyedLimit::new(Policy::Test, q)),
        })
    }

    /// One request by a user token.
    pub fn user(&self, user: &UserId) -> Result<Option<Standing>, RateLimitError> {
        self.user.as_ref().map(|l| l.check(user)).transpose()
    }

    /// One request by an API key.
    pub fn api_key(&self, key: &KeyId) -> Result<Option<Standing>, RateLimitError> {
        self.api_key.as_ref().map(|l| l.check(key)).transpose()
    }

    /// One test notification for `user`.
    pub fn test_notification(&self, user: &UserId) -> Result<Option<Standing>, RateLimitError> {
        self.test.as_ref().map(|l| l.check(user)).transpose()
    }

    pub fn sweep(&self) {
        if let Some(l) = &self.user {
            l.sweep();
        }
        if let Some(l) = &self.api_key {
            l.sweep();
        }
        if let Some(l) = &self.test {
            l.sweep();
        }
    }

    /// Sweeps every [`SWEEP_EVERY`] until `stopping` turns true.
    pub async fn sweep_until_stopped(
        self: Arc<Self>,
        mut stopping: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => self.sweep(),
                changed = stopping.changed() => {
                    if changed.is_err() || *stopping.borrow() {
                        return;
                    }
                }
            }
        }
    }
}
