use chrono::{DateTime, Utc};
use std::time::Duration;

/// Exponential backoff with jitter, up to `max_attempts`.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_attempts: i32,
    pub base: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(5),
            max_delay: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// When attempt `attempt + 1` may run, or `None` when the budget is spent.
    /// A provider's `Retry-After` is honoured when it asks for longer.
    pub fn next_attempt(
        &self,
        attempt: i32,
        retry_after: Option<Duration>,
    ) -> Option<DateTime<Utc>> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).max(0) as u32))
            .min(self.max_delay);
        // Full jitter on the upper half, so retries of one outage do not arrive together.
        let half = exp.as_millis() as u64 / 2;
        let delay = Duration::from_millis(half + rand::random_range(0..=half.max(1)));
        let delay = retry_after.map_or(delay, |r| delay.max(r));
        Some(Utc::now() + chrono::Duration::from_std(delay).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stops_at_the_budget() {
        let p = RetryPolicy {
            max_attempts: 3,
            base: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
        };
        let now = Utc::now();
        let first = p.next_attempt(1, None).unwrap() - now;
        let second = p.next_attempt(2, None).unwrap() - now;
        assert!(
            first >= chrono::Duration::seconds(4) && first <= chrono::Duration::seconds(11),
            "{first}"
        );
        assert!(
            second >= chrono::Duration::seconds(9) && second <= chrono::Duration::seconds(21),
            "{second}"
        );
        assert!(p.next_attempt(3, None).is_none());
        let long = p.next_attempt(1, Some(Duration::from_secs(120))).unwrap() - now;
        assert!(long >= chrono::Duration::seconds(119), "Retry-After wins");
    }
}
