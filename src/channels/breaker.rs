//! A circuit breaker per provider: after `threshold` consecutive retryable
//! failures it opens, and deliveries are deferred without calling the
//! provider until `cooldown` passes; then one probe decides. Permanent
//! errors (a bad recipient) say nothing about the provider and do not count.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    Open(Instant),
    HalfOpen,
}

pub struct CircuitBreaker {
    state: Mutex<(State, u32)>,
    threshold: u32,
    cooldown: Duration,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            state: Mutex::new((State::Closed, 0)),
            threshold: threshold.max(1),
            cooldown,
        }
    }

    /// Whether a send may go to the provider now; when not, how long to wait.
    pub fn allow(&self) -> Result<(), Duration> {
        let Ok(mut g) = self.state.lock() else {
            return Ok(());
        };
        match g.0 {
            State::Closed => Ok(()),
            State::Open(since) if since.elapsed() >= self.cooldown => {
                g.0 = State::HalfOpen; // this caller is the probe
                Ok(())
            }
            State::Open(since) => Err(self.cooldown.saturating_sub(since.elapsed())),
            State::HalfOpen => Err(self.cooldown),
        }
    }

    pub fn success(&self) {
        if let Ok(mut g) = self.state.lock() {
            *g = (State::Closed, 0);
        }
    }

    pub fn failure(&self) {
        if let Ok(mut g) = self.state.lock() {
            g.1 += 1;
            if g.0 == State::HalfOpen || g.1 >= self.threshold {
                g.0 = State::Open(Instant::now());
            }
        }
    }

    pub fn describe(&self) -> &'static str {
        match self.state.lock().map(|g| g.0) {
            Ok(State::Closed) | Err(_) => "closed",
            Ok(State::Open(_)) => "open",
            Ok(State::HalfOpen) => "half_open",
        }
    }
}

/// Every provider's breaker, for `/ready` and `/metrics`.
#[derive(Clone, Default)]
pub struct Breakers(Arc<Mutex<BTreeMap<String, Arc<CircuitBreaker>>>>);

impl Breakers {
    pub fn register(&self, channel: &str, breaker: Arc<CircuitBreaker>) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(channel.to_string(), breaker);
        }
    }

    pub fn describe(&self) -> BTreeMap<String, &'static str> {
        self.0
            .lock()
            .map(|m| m.iter().map(|(k, b)| (k.clone(), b.describe())).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_probes_after_the_cooldown_and_closes_on_success() {
        let b = CircuitBreaker::new(2, Duration::from_millis(30));
        b.failure();
        assert!(b.allow().is_ok());
        b.failure();
        assert_eq!(b.describe(), "open");
        assert!(b.allow().is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow().is_ok(), "one probe");
        assert!(b.allow().is_err(), "only one");
        b.success();
        assert_eq!(b.describe(), "closed");
        assert!(b.allow().is_ok());
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let b = CircuitBreaker::new(1, Duration::from_millis(10));
        b.failure();
        std::thread::sleep(Duration::from_millis(15));
        assert!(b.allow().is_ok());
        b.failure();
        assert_eq!(b.describe(), "open");
    }
}
