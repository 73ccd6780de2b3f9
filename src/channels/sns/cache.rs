//! Signing certificates already fetched, by URL. SNS signs every message with
//! the certificate of its region and names it by URL, so fetching it once per
//! message would cost a round trip to AWS per callback and let a sender make
//! Herald fetch at will. Entries live `ttl` and at most `capacity` are kept.

use rsa::RsaPublicKey;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Certificates kept; AWS uses one per region, so this is generous.
pub const CERT_CACHE_CAPACITY: usize = 64;
/// AWS rotates a signing certificate under a new URL; an hour bounds how long a revoked one is trusted.
pub const CERT_CACHE_TTL: Duration = Duration::from_secs(3600);

pub struct CertCache {
    capacity: usize,
    ttl: Duration,
    entries: Mutex<HashMap<String, (RsaPublicKey, Instant)>>,
}

impl CertCache {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, url: &str) -> Option<RsaPublicKey> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match entries.get(url) {
            Some((key, at)) if at.elapsed() < self.ttl => Some(key.clone()),
            Some(_) => {
                entries.remove(url);
                None
            }
            None => None,
        }
    }

    pub fn put(&self, url: &str, key: RsaPublicKey) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = self.ttl;
        entries.retain(|_, (_, at)| at.elapsed() < ttl);
        if !entries.contains_key(url) && entries.len() >= self.capacity {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(u, _)| u.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(url.to_string(), (key, Instant::now()));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Certificate fetches allowed per minute. A sender needs only an allow-listed topic and a fresh
/// timestamp to name a new `.pem` URL on an AWS host; this caps how often that makes Herald fetch.
/// Real traffic needs about one fetch per region per [`CERT_CACHE_TTL`].
pub const CERT_FETCHES_PER_MINUTE: u32 = 30;

/// A fixed one-minute budget of certificate fetches (cache misses).
pub struct FetchBudget {
    per_minute: u32,
    state: Mutex<(Instant, u32)>,
}

impl FetchBudget {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            state: Mutex::new((Instant::now(), 0)),
        }
    }

    /// Spends one fetch; false once this minute's budget is used up.
    pub fn spend(&self) -> bool {
        self.spend_at(Instant::now())
    }

    fn spend_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // A minute starts at its first fetch, not when the budget was made.
        if state.1 == 0 || now.duration_since(state.0) >= Duration::from_secs(60) {
            *state = (now, 0);
        }
        if state.1 >= self.per_minute {
            return false;
        }
        state.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fetch_budget_refuses_beyond_its_rate_until_the_minute_passes() {
        let b = FetchBudget::new(2);
        let t0 = Instant::now();
        assert!(b.spend_at(t0) && b.spend_at(t0));
        assert!(!b.spend_at(t0 + Duration::from_secs(59)));
        assert!(b.spend_at(t0 + Duration::from_secs(60)));
    }

    fn key() -> RsaPublicKey {
        let pem = include_str!("../../../tests/fixtures/sns_cert.pem");
        super::super::public_key(pem).unwrap()
    }

    #[test]
    fn a_cached_certificate_is_returned_until_its_ttl_passes() {
        let c = CertCache::new(4, Duration::from_secs(3600));
        assert!(c.get("u").is_none());
        c.put("u", key());
        assert!(c.get("u").is_some());
        let expired = CertCache::new(4, Duration::ZERO);
        expired.put("u", key());
        assert!(expired.get("u").is_none());
    }

    #[test]
    fn the_cache_keeps_at_most_its_capacity() {
        let c = CertCache::new(2, Duration::from_secs(3600));
        for u in ["a", "b", "c"] {
            c.put(u, key());
        }
        assert_eq!(c.len(), 2);
        assert!(c.get("a").is_none(), "the oldest went first");
        assert!(c.get("c").is_some());
    }
}
