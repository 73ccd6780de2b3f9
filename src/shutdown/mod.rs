//! Graceful shutdown: on SIGTERM or SIGINT a node drains in a fixed order
//! (see [`plan`]) and exits within `HERALD_SHUTDOWN_DEADLINE_SECS`, so a load
//! balancer or Kubernetes can take it out of rotation without losing events,
//! notifications or sends.

mod batches;
pub mod plan;
mod run;
mod signals;

pub use batches::step_until_stopped;
pub use plan::{DrainPlan, Step};
pub use run::{serve, Drain, SourceTasks};
pub use signals::terminated;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Set once the drain starts and never cleared: `/ready` answers 503 from
/// then on and new WebSocket sessions are turned away with
/// [`crate::protocol::CLOSE_GOING_AWAY_RECONNECT`]. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Draining(Arc<AtomicBool>);

impl Draining {
    pub fn start(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Kubernetes sends SIGKILL 30 s after SIGTERM by default; this stays under it.
pub const DEFAULT_DEADLINE_SECS: u64 = 25;
/// The longest deadline accepted: beyond an hour a stuck drain is a bug, not patience.
const MAX_DEADLINE_SECS: u64 = 3600;

/// For `#[serde(default)]` on the setting.
pub fn default_deadline_secs() -> u64 {
    DEFAULT_DEADLINE_SECS
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ShutdownError {
    #[error("the shutdown deadline must be 1 to {MAX_DEADLINE_SECS} seconds, not {0}")]
    Deadline(u64),
}

/// How long a drain may take, from the signal to the process exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline(Duration);

impl Deadline {
    pub fn parse(secs: u64) -> Result<Self, ShutdownError> {
        if (1..=MAX_DEADLINE_SECS).contains(&secs) {
            Ok(Self(Duration::from_secs(secs)))
        } else {
            Err(ShutdownError::Deadline(secs))
        }
    }

    pub fn get(self) -> Duration {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_is_one_second_to_an_hour() {
        assert_eq!(Deadline::parse(0), Err(ShutdownError::Deadline(0)));
        assert_eq!(
            Deadline::parse(1).map(Deadline::get),
            Ok(Duration::from_secs(1))
        );
        assert!(Deadline::parse(3600).is_ok());
        assert!(Deadline::parse(3601).is_err());
        assert!(Deadline::parse(DEFAULT_DEADLINE_SECS).is_ok());
    }

    #[test]
    fn draining_is_shared_by_clones_and_stays_set() {
        let a = Draining::default();
        let b = a.clone();
        assert!(!b.is_draining());
        a.start();
        assert!(b.is_draining());
        a.start();
        assert!(a.is_draining());
    }
}
