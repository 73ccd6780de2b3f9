//! Circuit breakers: one per provider, and one per webhook endpoint. After
//! `threshold` consecutive provider-level failures a breaker opens, and sends
//! are deferred without calling the provider until `cooldown` passes; then
//! one probe decides. Every probe ends: a provider-level failure re-opens the
//! breaker, any answer from the provider (even a permanent refusal of one
//! recipient) closes it, and a probe that never reached the provider (it
//! failed before the call, panicked or was cancelled) lets the next send probe.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a send waits while another send is probing.
const PROBE_WAIT: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

/// What a finished send says about the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The provider answered (accepted, or refused one recipient).
    Up,
    /// Timeouts, 5xx, 429: the provider is struggling.
    Down,
    /// The provider was never reached.
    Unknown,
}

pub struct CircuitBreaker {
    state: Mutex<(State, u32)>,
    threshold: u32,
    cooldown: Duration,
}

/// Leave to call the provider. Recording a verdict consumes it; dropping it
/// unrecorded (a panic, a cancelled send) frees a probe for the next send.
pub struct Ticket {
    breaker: Arc<CircuitBreaker>,
    probe: bool,
    recorded: bool,
}

impl Ticket {
    pub fn record(mut self, verdict: Verdict) {
        self.recorded = true;
        self.breaker.record(self.probe, verdict);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.recorded {
            self.breaker.record(self.probe, Verdict::Unknown);
        }
    }
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
    pub fn admit(self: &Arc<Self>) -> Result<Ticket, Duration> {
        let Ok(mut g) = self.state.lock() else {
            return Ok(self.ticket(false));
        };
        match g.0 {
            State::Closed => Ok(self.ticket(false)),
            State::Open { until } if Instant::now() >= until => {
                g.0 = State::HalfOpen; // this caller is the probe
                Ok(self.ticket(true))
            }
            State::Open { until } => Err(until.saturating_duration_since(Instant::now())),
            // A probe is out; its answer comes soon, so look again shortly.
            State::HalfOpen => Err(self.cooldown.min(PROBE_WAIT)),
        }
    }

    fn ticket(self: &Arc<Self>, probe: bool) -> Ticket {
        Ticket {
            breaker: self.clone(),
            probe,
            recorded: false,
        }
    }

    fn record(&self, probe: bool, verdict: Verdict) {
        let Ok(mut g) = self.state.lock() else { return };
        match verdict {
            Verdict::Up => *g = (State::Closed, 0),
            Verdict::Down => {
                g.1 += 1;
                if probe || g.0 == State::HalfOpen || g.1 >= self.threshold {
                    g.0 = State::Open {
                        until: Instant::now() + self.cooldown,
                    };
                }
            }
            Verdict::Unknown if probe && g.0 == State::HalfOpen => {
                g.0 = State::Open {
                    until: Instant::now(),
                };
            }
            Verdict::Unknown => {}
        }
    }

    pub fn describe(&self) -> &'static str {
        match self.state.lock().map(|g| g.0) {
            Ok(State::Closed) | Err(_) => "closed",
            Ok(State::Open { .. }) => "open",
            Ok(State::HalfOpen) => "half_open",
        }
    }
}

/// Every breaker by name (`sms`, `webhook:<endpoint id>`), created on first
/// use with the configured threshold and cooldown; `/ready` and `/metrics` read it.
#[derive(Clone)]
pub struct Breakers {
    all: Arc<Mutex<BTreeMap<String, Arc<CircuitBreaker>>>>,
    threshold: u32,
    cooldown: Duration,
}

impl Breakers {
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            all: Arc::default(),
            threshold,
            cooldown,
        }
    }

    pub fn get(&self, name: &str) -> Arc<CircuitBreaker> {
        let fresh = || Arc::new(CircuitBreaker::new(self.threshold, self.cooldown));
        match self.all.lock() {
            Ok(mut m) => m.entry(name.to_string()).or_insert_with(fresh).clone(),
            Err(_) => fresh(),
        }
    }

    pub fn describe(&self) -> BTreeMap<String, &'static str> {
        self.all
            .lock()
            .map(|m| m.iter().map(|(k, b)| (k.clone(), b.describe())).collect())
            .unwrap_or_default()
    }
}

impl Default for Breakers {
    fn default() -> Self {
        Self::new(5, Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(threshold: u32, ms: u64) -> Arc<CircuitBreaker> {
        Arc::new(CircuitBreaker::new(threshold, Duration::from_millis(ms)))
    }

    #[test]
    fn opens_after_the_threshold_probes_after_the_cooldown_and_closes_on_success() {
        let b = breaker(2, 30);
        b.admit().unwrap().record(Verdict::Down);
        assert!(b.admit().is_ok());
        b.admit().unwrap().record(Verdict::Down);
        assert_eq!(b.describe(), "open");
        assert!(b.admit().is_err());
        std::thread::sleep(Duration::from_millis(40));
        let probe = b.admit().expect("one probe");
        assert!(b.admit().is_err(), "only one");
        probe.record(Verdict::Up);
        assert_eq!(b.describe(), "closed");
        assert!(b.admit().is_ok());
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let b = breaker(1, 10);
        b.admit().unwrap().record(Verdict::Down);
        std::thread::sleep(Duration::from_millis(15));
        b.admit().unwrap().record(Verdict::Down);
        assert_eq!(b.describe(), "open");
    }

    #[test]
    fn a_probe_answered_with_a_permanent_refusal_closes_it() {
        let b = breaker(1, 10);
        b.admit().unwrap().record(Verdict::Down);
        std::thread::sleep(Duration::from_millis(15));
        b.admit().unwrap().record(Verdict::Up);
        assert_eq!(b.describe(), "closed");
    }

    #[test]
    fn a_probe_that_never_reached_the_provider_frees_the_next_probe() {
        let b = breaker(1, 10);
        b.admit().unwrap().record(Verdict::Down);
        std::thread::sleep(Duration::from_millis(15));
        drop(b.admit().expect("probe")); // panicked or cancelled
        assert!(b.admit().is_ok(), "the next send probes at once");
        let b = breaker(1, 10);
        b.admit().unwrap().record(Verdict::Down);
        std::thread::sleep(Duration::from_millis(15));
        b.admit().unwrap().record(Verdict::Unknown);
        assert!(b.admit().is_ok());
    }

    #[test]
    fn breakers_are_made_once_per_name() {
        let all = Breakers::new(1, Duration::from_secs(60));
        all.get("webhook:a").admit().unwrap().record(Verdict::Down);
        assert_eq!(all.get("webhook:a").describe(), "open");
        assert_eq!(all.get("webhook:b").describe(), "closed");
    }
}
