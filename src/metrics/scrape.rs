//! Gauges computed at scrape time: sessions, the bus, breakers and the outbox.
//! The outbox is read with one grouped query, cached briefly so that several
//! scrapers (or a dashboard refreshing) cost the database one query per interval.

use crate::domain::Channel;
use crate::persistence::deliveries::depth::{outbox_depth, OutboxDepth, WAITING};
use crate::persistence::StoreError;
use crate::realtime::ShardStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sea_orm::DatabaseConnection;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one outbox reading serves scrapes before the next query.
pub const OUTBOX_CACHE_TTL: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutboxLabels {
    channel: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ChannelLabel {
    channel: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreakerLabel {
    breaker: String,
}

/// What the `/metrics` route gathers from the running app before encoding.
pub struct Snapshot {
    pub hub: ShardStats,
    pub bus_connected: bool,
    /// Each breaker's name and `closed`, `half_open` or `open`.
    pub breakers: BTreeMap<String, &'static str>,
}

#[derive(Clone, Default)]
pub struct Gauges {
    sessions: Gauge,
    users: Gauge,
    evicted: Counter,
    /// The hub's eviction total at the last scrape; the counter moves by the difference.
    evicted_seen: Arc<AtomicU64>,
    bus_connected: Gauge,
    circuit_open: Family<ChannelLabel, Gauge>,
    circuit_state: Family<BreakerLabel, Gauge>,
    outbox_depth: Family<OutboxLabels, Gauge>,
    oldest_due: Gauge<f64, AtomicU64>,
    outbox: OutboxCache,
}

impl Gauges {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "herald_ws_sessions",
            "Open WebSocket sessions on this node.",
            self.sessions.clone(),
        );
        r.register(
            "herald_ws_users",
            "Users with at least one open session on this node.",
            self.users.clone(),
        );
        r.register(
            "herald_ws_evicted",
            "Sessions closed because their outbound queue overflowed.",
            self.evicted.clone(),
        );
        r.register(
            "herald_bus_connected",
            "Whether this node hears the other nodes' frames (1) or its bus link is degraded (0).",
            self.bus_connected.clone(),
        );
        r.register(
            "herald_circuit_open",
            "Whether a breaker is open or half-open (1) or closed (0).",
            self.circuit_open.clone(),
        );
        r.register(
            "herald_circuit_state",
            "Each breaker's state: 0 closed, 1 half-open, 2 open.",
            self.circuit_state.clone(),
        );
        r.register(
            "herald_outbox_depth",
            "Deliveries waiting to be sent, by channel and status (pending, sending).",
            self.outbox_depth.clone(),
        );
        r.register(
            "herald_outbox_oldest_due_seconds",
            "How long the oldest pending delivery has been due; 0 when none is.",
            self.oldest_due.clone(),
        );
    }

    /// Refreshes every gauge. A database error keeps the last outbox reading.
    pub async fn refresh(&self, db: &DatabaseConnection, now: Snapshot) {
        self.sessions.set(gauge_value(now.hub.sessions as u64));
        self.users.set(gauge_value(now.hub.users as u64));
        let before = self.evicted_seen.swap(now.hub.evicted, Ordering::Relaxed);
        self.evicted.inc_by(now.hub.evicted.saturating_sub(before));
        self.bus_connected.set(i64::from(now.bus_connected));
        for (name, state) in now.breakers {
            let level = match state {
                "open" => 2,
                "half_open" => 1,
                _ => 0,
            };
            self.circuit_open
                .get_or_create(&ChannelLabel {
                    channel: name.clone(),
                })
                .set(i64::from(level > 0));
            self.circuit_state
                .get_or_create(&BreakerLabel { breaker: name })
                .set(level);
        }
        match self.outbox.get(db).await {
            Ok(depth) => self.show_outbox(&depth),
            Err(e) => tracing::warn!(error = %e, "could not read the outbox depth"),
        }
    }

    fn show_outbox(&self, depth: &OutboxDepth) {
        // Every channel and waiting status reads 0 unless counted (the label sets
        // are fixed), so an emptied queue shows 0 rather than its old count.
        for channel in Channel::ALL {
            for status in WAITING {
                let labels = OutboxLabels {
                    channel: channel.as_str(),
                    status: status.as_str(),
                };
                self.outbox_depth.get_or_create(&labels).set(0);
            }
        }
        for (channel, status, n) in &depth.counts {
            let labels = OutboxLabels {
                channel: channel.as_str(),
                status: status.as_str(),
            };
            self.outbox_depth
                .get_or_create(&labels)
                .set(gauge_value(*n));
        }
        let age = depth.oldest_due.map_or(0.0, |due| {
            (chrono::Utc::now() - due).num_milliseconds().max(0) as f64 / 1000.0
        });
        self.oldest_due.set(age);
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The last outbox reading and when it was taken; one query at a time.
#[derive(Clone, Default)]
pub struct OutboxCache {
    last: Arc<tokio::sync::Mutex<Option<(Instant, OutboxDepth)>>>,
}

impl OutboxCache {
    /// The cached reading while fresh, otherwise a new one. Concurrent scrapes
    /// wait for the one query in flight instead of each running their own.
    pub async fn get(&self, db: &DatabaseConnection) -> Result<OutboxDepth, StoreError> {
        let mut last = self.last.lock().await;
        if let Some((at, depth)) = last.as_ref() {
            if at.elapsed() < OUTBOX_CACHE_TTL {
                return Ok(depth.clone());
            }
        }
        let depth = outbox_depth(db, chrono::Utc::now()).await?;
        *last = Some((Instant::now(), depth.clone()));
        Ok(depth)
    }
}
