//! Redis sources: pub/sub channels and streams read through the
//! consumer group `herald` (XREADGROUP, XACK after commit, XAUTOCLAIM for
//! entries a crashed consumer left pending), plus the fast
//! idempotency keys.

mod streams;

use super::{stopped, stopping, Backoff, Source, SourceHealth};
use crate::pipeline::fast::{key, FastIdempotency, STATUS_TTL_SECS};
use crate::pipeline::Pipeline;
use futures_util::future::BoxFuture;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::streams::StreamId;
use redis::AsyncCommands;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub const GROUP: &str = "herald";

/// The fast path: `event:{id}:status` with a 24-hour TTL. Redis errors are
/// logged and ignored; the database guard still prevents duplicates.
pub struct RedisIdempotency {
    conn: ConnectionManager,
}

impl RedisIdempotency {
    pub fn new(conn: ConnectionManager) -> Self {
        Self { conn }
    }
}

impl FastIdempotency for RedisIdempotency {
    fn status(&self, event_id: &str) -> BoxFuture<'_, Option<String>> {
        let (mut conn, k) = (self.conn.clone(), key(event_id));
        Box::pin(async move {
            conn.get::<_, Option<String>>(&k)
                .await
                .map_err(|e| tracing::warn!(error = %e, "redis idempotency check failed; using the database guard alone"))
                .ok()
                .flatten()
        })
    }

    fn set_status(&self, event_id: &str, status: &'static str) -> BoxFuture<'_, ()> {
        let (mut conn, k) = (self.conn.clone(), key(event_id));
        Box::pin(async move {
            if let Err(e) = conn.set_ex::<_, _, ()>(&k, status, STATUS_TTL_SECS).await {
                tracing::warn!(error = %e, "redis idempotency mark failed");
            }
        })
    }
}

/// The event body a stream entry carries: the `event`/`data`/`payload`/`body`/`message`
/// field when there is one, else all fields as a flat JSON object.
pub fn entry_body(entry: &StreamId) -> Vec<u8> {
    let text =
        |v: &redis::Value| -> Option<String> { redis::from_redis_value::<String>(v.clone()).ok() };
    for f in ["event", "data", "payload", "body", "message"] {
        if let Some(s) = entry.map.get(f).and_then(text) {
            return s.into_bytes();
        }
    }
    let obj: Map<String, Value> = entry
        .map
        .iter()
        .filter_map(|(k, v)| text(v).map(|s| (k.clone(), Value::String(s))))
        .collect();
    Value::Object(obj).to_string().into_bytes()
}

pub struct RedisSource {
    client: redis::Client,
    channels: Vec<String>,
    streams: Vec<String>,
    consumer: String,
    /// Entries pending this long on another consumer are claimed (it probably died).
    claim_idle_ms: u64,
    /// Deliveries of one entry that failed transiently before it is dead-lettered.
    max_deliveries: u64,
    pipeline: Arc<Pipeline>,
    health: Arc<SourceHealth>,
    /// Sessions up: pub/sub and streams. Redis is "connected" only when every configured one is.
    pubsub_up: std::sync::atomic::AtomicBool,
    streams_up: std::sync::atomic::AtomicBool,
}

impl RedisSource {
    pub fn new(
        client: redis::Client,
        channels: Vec<String>,
        streams: Vec<String>,
        claim_idle_ms: u64,
        max_deliveries: u32,
        pipeline: Arc<Pipeline>,
        health: Arc<SourceHealth>,
    ) -> Self {
        let consumer = format!(
            "herald-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        Self {
            client,
            channels,
            streams,
            consumer,
            claim_idle_ms,
            max_deliveries: u64::from(max_deliveries.max(1)),
            pipeline,
            health,
            pubsub_up: std::sync::atomic::AtomicBool::new(false),
            streams_up: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn session_up(&self, pubsub: bool, up: bool) {
        use std::sync::atomic::Ordering::Relaxed;
        let flag = if pubsub {
            &self.pubsub_up
        } else {
            &self.streams_up
        };
        flag.store(up, Relaxed);
        let all = (self.channels.is_empty() || self.pubsub_up.load(Relaxed))
            && (self.streams.is_empty() || self.streams_up.load(Relaxed));
        if all {
            self.health.connected(Source::Redis);
        } else if !up {
            self.health.down(Source::Redis);
        }
    }

    /// Consumes until `shutdown` turns true. Then pub/sub stops reading after
    /// the message in hand, and the stream reader after the batch in hand,
    /// whose entries are all settled (acked or left pending) before it returns.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let (subs, mut stop) = (this.clone(), shutdown.clone());
        let subscriber = async move {
            if subs.channels.is_empty() {
                return;
            }
            let mut backoff = Backoff::default();
            while !stopping(&stop) {
                if let Err(e) = subs.pubsub_session(&mut backoff, stop.clone()).await {
                    tracing::warn!(error = %e, "redis pub/sub lost; reconnecting");
                }
                subs.session_up(true, false);
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = stopped(&mut stop) => {}
                }
            }
        };
        let (readers, mut stop) = (this.clone(), shutdown);
        let reader = async move {
            if readers.streams.is_empty() {
                return;
            }
            let mut backoff = Backoff::default();
            while !stopping(&stop) {
                if let Err(e) = readers.stream_session(&mut backoff, &stop).await {
                    tracing::warn!(error = %e, "redis streams lost; reconnecting");
                }
                readers.session_up(false, false);
                tokio::select! {
                    _ = backoff.wait() => {}
                    _ = stopped(&mut stop) => {}
                }
            }
        };
        futures_util::join!(subscriber, reader);
        tracing::info!("redis consumers stopped");
    }

    /// A dedicated pub/sub connection does not reconnect by itself, so this loop supervises it.
    async fn pubsub_session(
        &self,
        backoff: &mut Backoff,
        mut shutdown: watch::Receiver<bool>,
    ) -> redis::RedisResult<()> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        for ch in &self.channels {
            pubsub.subscribe(ch).await?;
        }
        self.session_up(true, true);
        backoff.reset();
        tracing::info!(channels = ?self.channels, "subscribed to redis channels");
        let mut messages = pubsub
            .into_on_message()
            .take_until(Box::pin(async move { stopped(&mut shutdown).await }));
        while let Some(msg) = messages.next().await {
            let channel = msg.get_channel_name().to_string();
            let body = msg.get_payload_bytes().to_vec();
            // Pub/sub has no redelivery: anything that fails is dead-lettered, never dropped.
            let source = format!("redis:{channel}");
            let inbound = crate::pipeline::ingress::Inbound {
                body: &body,
                shape: crate::pipeline::ingress::Shape::Json {
                    fallback_type: Some(&channel),
                },
                source: &source,
                trace: None,
            };
            if let Err(e) = self.pipeline.ingest_inbound(&inbound).await {
                let meta = json!({"channel": channel, "routing_key": channel});
                if let Err(store) = self
                    .pipeline
                    .dead_letter(&format!("redis:{channel}"), &e.to_string(), &body, meta)
                    .await
                {
                    tracing::error!(error = %store, reason = %e, "could not record a dead letter for a pub/sub message");
                }
            }
        }
        Ok(())
    }

    async fn stream_session(
        &self,
        backoff: &mut Backoff,
        shutdown: &watch::Receiver<bool>,
    ) -> redis::RedisResult<()> {
        let mut conn = self.client.get_multiplexed_async_connection().await?;
        for s in &self.streams {
            // From the start of the stream: with dedupe, re-reading old entries is harmless.
            let created: redis::RedisResult<()> = redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(s)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut conn)
                .await;
            if let Err(e) = created {
                if e.code() != Some("BUSYGROUP") {
                    return Err(e);
                }
            }
        }
        self.session_up(false, true);
        backoff.reset();
        tracing::info!(streams = ?self.streams, "reading redis streams");
        let mut last_claim = std::time::Instant::now() - Duration::from_secs(3600);
        // Where each stream's XAUTOCLAIM walk resumes: a pass reads a bounded
        // number of pages, so a long pending list is covered over several passes.
        let mut cursors: HashMap<String, String> = HashMap::new();
        // Checked between batches: a batch read is settled before the reader stops.
        while !stopping(shutdown) {
            if last_claim.elapsed() > Duration::from_millis(self.claim_idle_ms / 2) {
                last_claim = std::time::Instant::now();
                for s in &self.streams {
                    let cursor = cursors.entry(s.clone()).or_insert_with(|| "0-0".into());
                    self.claim_stale(&mut conn, s, cursor).await?;
                }
            }
            self.step(&mut conn).await?;
        }
        Ok(())
    }
}
