//! Signatures already accepted, so that a captured callback cannot be sent
//! again while its timestamp is still inside the window. The memory is per
//! node: behind a load balancer a replay routed to another node is only
//! stopped by the window itself (status updates are forward-only, so a
//! replay there cannot move a delivery back).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// Most signatures remembered; beyond it those closest to leaving the window go first.
pub const REPLAY_CAPACITY: usize = 100_000;

pub struct ReplayCache {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// signature → the last second its timestamp is accepted.
    until: HashMap<String, i64>,
    by_expiry: BTreeSet<(i64, String)>,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Records `signature` as used until `until` (unix seconds). False when it was already used.
    pub fn claim(&self, signature: &str, until: i64, now: i64) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.purge(now);
        if inner.until.contains_key(signature) {
            return false;
        }
        while inner.until.len() >= self.capacity {
            let Some(first) = inner.by_expiry.pop_first() else {
                break;
            };
            inner.until.remove(&first.1);
        }
        inner.until.insert(signature.to_string(), until);
        inner.by_expiry.insert((until, signature.to_string()));
        true
    }

    /// Forgets a claim whose callback failed, so the provider's retry is not taken for a replay.
    pub fn release(&self, signature: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(until) = inner.until.remove(signature) {
            inner.by_expiry.remove(&(until, signature.to_string()));
        }
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.until.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Inner {
    fn purge(&mut self, now: i64) {
        while let Some((until, _)) = self.by_expiry.first() {
            if *until >= now {
                break;
            }
            if let Some((_, sig)) = self.by_expiry.pop_first() {
                self.until.remove(&sig);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_accepted_once_while_it_is_in_the_window() {
        let c = ReplayCache::new(10);
        assert!(c.claim("a", 100, 50));
        assert!(!c.claim("a", 100, 60));
        assert!(c.claim("b", 100, 60));
    }

    #[test]
    fn entries_leave_once_their_window_has_passed() {
        let c = ReplayCache::new(10);
        assert!(c.claim("a", 100, 50));
        assert!(c.claim("b", 200, 101));
        assert_eq!(c.len(), 1, "a expired");
    }

    #[test]
    fn the_cache_stays_bounded_dropping_the_soonest_to_expire() {
        let c = ReplayCache::new(2);
        assert!(c.claim("late", 300, 0));
        assert!(c.claim("soon", 100, 0));
        assert!(c.claim("new", 200, 0));
        assert_eq!(c.len(), 2);
        assert!(!c.claim("late", 300, 0));
        assert!(c.claim("soon", 100, 0), "evicted first");
    }

    #[test]
    fn a_released_claim_can_be_made_again() {
        let c = ReplayCache::new(10);
        assert!(c.claim("a", 100, 0));
        c.release("a");
        assert!(c.claim("a", 100, 0));
        assert!(!c.is_empty());
    }
}
