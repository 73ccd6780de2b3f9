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

#[cfg(test)]
mod tests {
    use super::*;

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
