//! Event sources: RabbitMQ and Redis feed the same pipeline as REST. Each is
//! a `run(shutdown)` loop started in startup that reconnects with backoff,
//! reports its state for `/ready`, and on shutdown stops taking messages and
//! settles the ones in hand before it returns.

pub mod amqp;
pub mod redis;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

const DISABLED: u8 = 0;
const CONNECTING: u8 = 1;
const CONNECTED: u8 = 2;
const DOWN: u8 = 3;

/// First reconnect delay; doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Connection state of each source.
#[derive(Default)]
pub struct SourceHealth {
    rabbitmq: AtomicU8,
    redis: AtomicU8,
}

#[derive(Clone, Copy, Debug)]
pub enum Source {
    RabbitMq,
    Redis,
}

impl SourceHealth {
    fn cell(&self, s: Source) -> &AtomicU8 {
        match s {
            Source::RabbitMq => &self.rabbitmq,
            Source::Redis => &self.redis,
        }
    }
    pub fn connecting(&self, s: Source) {
        self.cell(s).store(CONNECTING, Ordering::Relaxed);
    }
    pub fn connected(&self, s: Source) {
        self.cell(s).store(CONNECTED, Ordering::Relaxed);
    }
    pub fn down(&self, s: Source) {
        self.cell(s).store(DOWN, Ordering::Relaxed);
    }
    pub fn is_down(&self) -> bool {
        [&self.rabbitmq, &self.redis]
            .iter()
            .any(|c| matches!(c.load(Ordering::Relaxed), DOWN | CONNECTING))
    }

    pub fn describe(&self) -> BTreeMap<&'static str, String> {
        let name = |v: u8| match v {
            DISABLED => "disabled",
            CONNECTING => "connecting",
            CONNECTED => "connected",
            _ => "unreachable (reconnecting)",
        };
        BTreeMap::from([
            (
                "rabbitmq",
                name(self.rabbitmq.load(Ordering::Relaxed)).to_string(),
            ),
            (
                "redis",
                name(self.redis.load(Ordering::Relaxed)).to_string(),
            ),
        ])
    }
}

/// Resolves once `shutdown` is true, or its sender is gone (nobody is left to wait for us).
pub(crate) async fn stopped(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Whether [`stopped`] would resolve at once.
pub(crate) fn stopping(shutdown: &tokio::sync::watch::Receiver<bool>) -> bool {
    *shutdown.borrow() || shutdown.has_changed().is_err()
}

/// Exponential backoff with jitter between reconnects.
pub struct Backoff(Duration);

impl Default for Backoff {
    fn default() -> Self {
        Self(MIN_BACKOFF)
    }
}

impl Backoff {
    pub async fn wait(&mut self) {
        let jitter = rand::random_range(0..=self.0.as_millis() as u64 / 2);
        tokio::time::sleep(self.0 / 2 + Duration::from_millis(jitter)).await;
        self.0 = (self.0 * 2).min(MAX_BACKOFF);
    }
    pub fn reset(&mut self) {
        self.0 = MIN_BACKOFF;
    }
}

/// `q1=a.*,b.#;q2=c` → [(q1, [a.*, b.#]), (q2, [c])].
pub fn parse_queues(raw: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    raw.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| {
            let (queue, keys) = entry
                .split_once('=')
                .ok_or_else(|| format!("'{entry}' is not queue=key1,key2"))?;
            let keys: Vec<String> = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(str::to_string)
                .collect();
            for k in &keys {
                crate::domain::EventPattern::parse(k).map_err(|e| e.to_string())?;
            }
            if queue.trim().is_empty() || keys.is_empty() {
                return Err(format!(
                    "'{entry}' needs a queue name and at least one binding key"
                ));
            }
            Ok((queue.trim().to_string(), keys))
        })
        .collect()
}

pub fn parse_list(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_001_queue_bindings_parse() {
        let q = parse_queues(
            "notification.booking_events=booking.*;notification.payment_events=payment.*",
        )
        .unwrap();
        assert_eq!(
            q[0],
            (
                "notification.booking_events".to_string(),
                vec!["booking.*".to_string()]
            )
        );
        assert_eq!(q.len(), 2);
        assert!(parse_queues("noequals").is_err());
    }
}
