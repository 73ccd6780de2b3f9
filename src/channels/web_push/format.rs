//! What one Web Push carries, pure: the JSON the service worker reads, and the
//! RFC 8030 headers that tell the push service how to queue it.
//!
//! | priority | `Urgency` | `TTL` |
//! |---|---|---|
//! | critical | high | 1 hour |
//! | high | high | 6 hours |
//! | normal | normal | 24 hours |
//! | low | low | 3 days |
//!
//! Urgent messages are the time-bound ones (a code, "your table is ready"):
//! stale soon, so the push service drops them rather than wake a device late.
//! Low ones wait for the device, and `Urgency: low` lets it batch them.

use crate::domain::{Category, Priority, PushContent};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// RFC 8030 §5.4: a topic is at most 32 characters of the base64url alphabet.
const MAX_TOPIC_LEN: usize = 32;

/// One Web Push message, before encryption.
#[derive(Clone, Debug, PartialEq)]
pub struct WebPushMessage<'a> {
    pub content: &'a PushContent,
    pub delivery_id: uuid::Uuid,
    pub notification_id: Option<uuid::Uuid>,
    pub priority: Priority,
    pub category: &'a Category,
}

/// How the push service queues a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queueing {
    pub ttl_secs: u32,
    pub urgency: &'static str,
    /// Replaces an undelivered message of the same category on the push service.
    pub topic: String,
}

/// The JSON `herald-sw.js` shows: `{title, body, url, notification_id, delivery_id, data}`.
pub fn payload(m: &WebPushMessage) -> Value {
    json!({
        "title": m.content.title,
        "body": m.content.body,
        "url": m.content.action_url,
        "notification_id": m.notification_id,
        "delivery_id": m.delivery_id,
        "data": m.content.data,
    })
}

pub fn queueing(m: &WebPushMessage) -> Queueing {
    let (urgency, ttl_secs) = match m.priority {
        Priority::Critical => ("high", 3600),
        Priority::High => ("high", 6 * 3600),
        Priority::Normal => ("normal", 24 * 3600),
        Priority::Low => ("low", 3 * 24 * 3600),
    };
    Queueing {
        ttl_secs,
        urgency,
        topic: topic(m.category.as_str()),
    }
}

/// The category when it is a valid topic, else a digest of it that is.
fn topic(category: &str) -> String {
    let fits = category.len() <= MAX_TOPIC_LEN
        && !category.is_empty()
        && category
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if fits {
        return category.to_string();
    }
    let mut digest = URL_SAFE_NO_PAD.encode(Sha256::digest(category.as_bytes()));
    digest.truncate(MAX_TOPIC_LEN);
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content() -> PushContent {
        PushContent {
            title: "Your table is ready".into(),
            body: "Come to the front desk".into(),
            data: Some(json!({"table": 4})),
            action_url: Some("https://app.example/t/4".into()),
        }
    }

    #[test]
    fn the_payload_carries_what_the_service_worker_shows_and_reports() {
        let (c, cat) = (content(), Category::default_category());
        let id = uuid::Uuid::now_v7();
        let m = WebPushMessage {
            content: &c,
            delivery_id: id,
            notification_id: None,
            priority: Priority::Normal,
            category: &cat,
        };
        let p = payload(&m);
        assert_eq!(p["title"], "Your table is ready");
        assert_eq!(p["url"], "https://app.example/t/4");
        assert_eq!(p["data"]["table"], 4);
        assert_eq!(p["delivery_id"], id.to_string());
        assert!(p["notification_id"].is_null());
    }

    #[test]
    fn priority_sets_urgency_and_ttl_and_the_category_becomes_the_topic() {
        let (c, cat) = (content(), Category::default_category());
        let mut m = WebPushMessage {
            content: &c,
            delivery_id: uuid::Uuid::nil(),
            notification_id: None,
            priority: Priority::Critical,
            category: &cat,
        };
        let q = queueing(&m);
        assert_eq!((q.urgency, q.ttl_secs), ("high", 3600));
        assert_eq!(q.topic, cat.as_str());
        m.priority = Priority::Low;
        assert_eq!(queueing(&m).urgency, "low");
        assert!(queueing(&m).ttl_secs > 24 * 3600);
    }

    #[test]
    fn a_category_that_is_no_valid_topic_is_digested_into_one() {
        for raw in [
            "orders.shipped",
            "a-very-long-category-name-past-32-chars",
            "é",
        ] {
            let t = topic(raw);
            assert!(t.len() <= MAX_TOPIC_LEN, "{t}");
            assert!(t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(t, topic(raw), "stable");
        }
        assert_ne!(topic("orders.shipped"), topic("orders.refunded"));
        assert_eq!(topic("billing_2"), "billing_2");
    }
}
