//! The app's counters for `/ready`, and its Prometheus series for `/metrics`.

use crate::metrics::Metrics;
use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Default)]
pub struct Stats {
    processed: AtomicU64,
    suppressed: AtomicU64,
    duplicates: AtomicU64,
    failed: AtomicU64,
    /// Unix milliseconds of the last processed notification, 0 for never.
    last_processed_ms: AtomicI64,
    /// This app's own registry (see `crate::metrics` for why not a global one).
    pub metrics: Metrics,
}

impl Stats {
    pub fn processed(&self) {
        self.processed.fetch_add(1, Ordering::Relaxed);
        self.metrics.notifications.processed.inc();
        self.last_processed_ms
            .store(Utc::now().timestamp_millis(), Ordering::Relaxed);
    }
    pub fn suppressed(&self) {
        self.suppressed.fetch_add(1, Ordering::Relaxed);
        self.metrics.notifications.suppressed.inc();
    }
    pub fn duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
        self.metrics.notifications.duplicate.inc();
    }
    pub fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.metrics.notifications.failed.inc();
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let last = self.last_processed_ms.load(Ordering::Relaxed);
        StatsSnapshot {
            processed_count: self.processed.load(Ordering::Relaxed),
            suppressed_count: self.suppressed.load(Ordering::Relaxed),
            duplicate_count: self.duplicates.load(Ordering::Relaxed),
            failed_count: self.failed.load(Ordering::Relaxed),
            last_processed: (last > 0)
                .then(|| Utc.timestamp_millis_opt(last).single())
                .flatten(),
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct StatsSnapshot {
    pub processed_count: u64,
    pub suppressed_count: u64,
    pub duplicate_count: u64,
    pub failed_count: u64,
    pub last_processed: Option<DateTime<Utc>>,
}
