//! Label sets and the notification counters kept from the hand-written exposition.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProviderLabels {
    pub channel: String,
    pub provider: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// The matched route template (`/api/v1/users/{user_id}`), `unmatched` otherwise.
    pub route: String,
    pub method: String,
    /// `2xx`, `4xx`, …
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub source: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub channel: String,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallbackLabels {
    pub provider: &'static str,
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimiterLabels {
    pub limiter: &'static str,
}

/// The four counters `/metrics` has always had, under their old names.
#[derive(Clone, Default)]
pub struct NotificationCounters {
    pub processed: Counter,
    pub suppressed: Counter,
    pub duplicate: Counter,
    pub failed: Counter,
}

impl NotificationCounters {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "herald_notifications_processed",
            "Notifications stored and published.",
            self.processed.clone(),
        );
        r.register(
            "herald_notifications_suppressed",
            "Sends suppressed by preferences.",
            self.suppressed.clone(),
        );
        r.register(
            "herald_notifications_duplicate",
            "Sends and events answered from an earlier request_id or event id.",
            self.duplicate.clone(),
        );
        r.register(
            "herald_notifications_failed",
            "Sends and events that failed to store or were rejected.",
            self.failed.clone(),
        );
    }
}
