//! Transient failures per message body, for the redelivery limit. RabbitMQ
//! does not count redeliveries for us on classic queues, so the consumer
//! remembers; the memory is bounded so a stream of distinct failing bodies
//! cannot grow it without end.

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

/// Bodies remembered at once. Far more than can be in flight (the prefetch
/// bounds that), so only bodies that stopped coming back are forgotten.
pub const FAILURE_MEMORY: usize = 10_000;

/// A body's key: hashed with per-process random keys, so a producer cannot
/// craft bodies that share one count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BodyKey(u64);

pub struct FailureCounts {
    capacity: usize,
    hasher: RandomState,
    /// Failures so far and when the last one happened (a logical clock).
    counts: HashMap<BodyKey, (u32, u64)>,
    /// The same entries by the time of their last failure, oldest first.
    by_age: BTreeMap<u64, BodyKey>,
    clock: u64,
}

impl FailureCounts {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            hasher: RandomState::new(),
            counts: HashMap::new(),
            by_age: BTreeMap::new(),
            clock: 0,
        }
    }

    pub fn key(&self, body: &[u8]) -> BodyKey {
        BodyKey(self.hasher.hash_one(body))
    }

    /// Counts one more failure of `key` and returns its total. When full, the
    /// body that failed longest ago is forgotten: it would get its tries
    /// afresh, which delays its dead letter but never loses it.
    pub fn record(&mut self, key: BodyKey) -> u32 {
        self.clock += 1;
        let failures = match self.counts.get(&key) {
            Some(&(n, at)) => {
                self.by_age.remove(&at);
                n.saturating_add(1)
            }
            None => 1,
        };
        self.counts.insert(key, (failures, self.clock));
        self.by_age.insert(self.clock, key);
        while self.counts.len() > self.capacity {
            match self.by_age.pop_first() {
                Some((_, oldest)) => {
                    self.counts.remove(&oldest);
                }
                None => break,
            }
        }
        failures
    }

    /// Forgets `key`: its message was acked or dead-lettered.
    pub fn forget(&mut self, key: BodyKey) {
        if let Some((_, at)) = self.counts.remove(&key) {
            self.by_age.remove(&at);
        }
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_of_one_body_add_up_until_it_is_forgotten() {
        let mut f = FailureCounts::new(8);
        let k = f.key(b"body");
        assert_eq!(f.key(b"body"), k);
        assert_eq!((f.record(k), f.record(k), f.record(k)), (1, 2, 3));
        f.forget(k);
        assert!(f.is_empty());
        assert_eq!(f.record(k), 1, "a forgotten body starts again");
    }

    #[test]
    fn distinct_failing_bodies_never_grow_the_memory_past_its_cap() {
        let mut f = FailureCounts::new(100);
        for i in 0..10_000u32 {
            let k = f.key(&i.to_be_bytes());
            f.record(k);
            assert!(f.len() <= 100);
        }
        assert_eq!(f.len(), 100);
        assert_eq!(f.by_age.len(), 100, "both indexes stay in step");
    }

    #[test]
    fn the_body_that_failed_longest_ago_is_evicted_first() {
        let mut f = FailureCounts::new(2);
        let (a, b, c) = (f.key(b"a"), f.key(b"b"), f.key(b"c"));
        f.record(a);
        f.record(b);
        // `a` fails again, so `b` is now the oldest.
        f.record(a);
        f.record(c);
        assert_eq!(f.record(a), 3, "a was kept");
        assert_eq!(f.record(b), 1, "b was evicted and starts again");
    }
}
