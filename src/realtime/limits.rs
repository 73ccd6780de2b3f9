//! Caps on open WebSocket connections per user and per client IP.
//!
//! A slot is taken before the upgrade, so the route can still answer 429
//! with a JSON body, and check-and-take is one step under the lock, so two
//! racing upgrades cannot both squeeze past the cap. The slot is an RAII
//! guard: the session releases it in `stopping()`, and dropping it anywhere
//! else (an upgrade that fails, an actor that never ran) releases it too.

use crate::domain::UserId;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Why an upgrade was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("this user already has {0} open sessions")]
    TooManySessions(usize),
    #[error("this address already has {0} open connections")]
    TooManyConnections(usize),
}

#[derive(Default)]
struct Counts {
    users: HashMap<String, usize>,
    ips: HashMap<IpAddr, usize>,
}

fn release<K: Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

/// The counters, shared by every session of this node.
pub struct ConnectionLimits {
    max_per_user: usize,
    max_per_ip: usize,
    counts: Arc<Mutex<Counts>>,
}

impl ConnectionLimits {
    pub fn new(max_per_user: usize, max_per_ip: usize) -> Self {
        Self {
            max_per_user,
            max_per_ip,
            counts: Arc::default(),
        }
    }

    fn lock(counts: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
        // Counters stay consistent even if a holder panicked: every update is one statement.
        counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a slot for one connection of `user` from `ip`, or says which cap is full.
    pub fn acquire(&self, user: &UserId, ip: IpAddr) -> Result<ConnectionSlot, LimitError> {
        let mut counts = Self::lock(&self.counts);
        let from_ip = counts.ips.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.max_per_ip {
            return Err(LimitError::TooManyConnections(from_ip));
        }
        let of_user = counts.users.get(user.as_str()).copied().unwrap_or(0);
        if of_user >= self.max_per_user {
            return Err(LimitError::TooManySessions(of_user));
        }
        *counts.ips.entry(ip).or_default() += 1;
        *counts.users.entry(user.as_str().to_string()).or_default() += 1;
        Ok(ConnectionSlot {
            user: user.as_str().to_string(),
            ip,
            counts: self.counts.clone(),
        })
    }
}

/// One counted connection; dropping it gives the slot back.
pub struct ConnectionSlot {
    user: String,
    ip: IpAddr,
    counts: Arc<Mutex<Counts>>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = ConnectionLimits::lock(&self.counts);
        release(&mut counts.users, &self.user);
        release(&mut counts.ips, &self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn user(s: &str) -> UserId {
        UserId::parse(s).unwrap()
    }

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_user_beyond_the_session_cap_is_refused_until_a_slot_is_dropped() {
        let limits = ConnectionLimits::new(2, 100);
        let first = limits.acquire(&user("u"), A).unwrap();
        let _second = limits.acquire(&user("u"), B).unwrap();
        assert_eq!(
            limits.acquire(&user("u"), A).err(),
            Some(LimitError::TooManySessions(2))
        );
        assert!(limits.acquire(&user("other"), A).is_ok());
        drop(first);
        assert!(limits.acquire(&user("u"), A).is_ok());
    }

    #[test]
    fn an_address_beyond_the_connection_cap_is_refused_whatever_the_user() {
        let limits = ConnectionLimits::new(100, 2);
        let _a = limits.acquire(&user("a"), A).unwrap();
        let b = limits.acquire(&user("b"), A).unwrap();
        assert_eq!(
            limits.acquire(&user("c"), A).err(),
            Some(LimitError::TooManyConnections(2))
        );
        assert!(limits.acquire(&user("c"), B).is_ok());
        drop(b);
        assert!(limits.acquire(&user("c"), A).is_ok());
    }

    #[test]
    fn a_refused_attempt_takes_no_slot() {
        let limits = ConnectionLimits::new(1, 100);
        let _s = limits.acquire(&user("u"), A).unwrap();
        for _ in 0..10 {
            assert!(limits.acquire(&user("u"), A).is_err());
        }
        let counts = ConnectionLimits::lock(&limits.counts);
        assert_eq!(counts.users.get("u"), Some(&1));
        assert_eq!(counts.ips.get(&A), Some(&1));
    }
}
