//! RabbitMQ consumer (lapin): a durable topic exchange, durable queues with
//! their bindings, a prefetch, and manual acks only after the event's effects
//! are committed. Malformed or unprocessable messages, and ones that keep
//! failing, go to the `herald.dead-letter` exchange with the reason in a header.

mod cloudevents;
mod failures;

pub use failures::{FailureCounts, FAILURE_MEMORY};

use super::{Backoff, Source, SourceHealth};
use crate::pipeline::Pipeline;
use futures_util::StreamExt;
use lapin::message::Delivery;
use lapin::options::*;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

pub const DEAD_LETTER_EXCHANGE: &str = "herald.dead-letter";
pub const DEAD_LETTER_QUEUE: &str = "herald.dead-letter";
/// Pause before a transiently failed message is requeued, so a database outage is not a hot loop.
const REQUEUE_DELAY: Duration = Duration::from_millis(500);
/// How often the connection's state is checked while consuming.
const CONNECTION_CHECK: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct AmqpConfig {
    pub url: String,
    pub exchange: String,
    pub queues: Vec<(String, Vec<String>)>,
    pub prefetch: u16,
    pub max_redeliveries: u32,
}

pub struct AmqpSource {
    cfg: AmqpConfig,
    pipeline: Arc<Pipeline>,
    health: Arc<SourceHealth>,
    /// Failures per message body, for the redelivery limit.
    failures: Mutex<FailureCounts>,
}

enum Verdict {
    Ack,
    Requeue,
    DeadLetter(String),
}

impl AmqpSource {
    pub fn new(cfg: AmqpConfig, pipeline: Arc<Pipeline>, health: Arc<SourceHealth>) -> Self {
        Self {
            cfg,
            pipeline,
            health,
            failures: Mutex::new(FailureCounts::new(FAILURE_MEMORY)),
        }
    }

    /// Consumes until `shutdown` turns true, then stops taking deliveries,
    /// settles the ones being processed (acked only once committed) and
    /// closes the channel, which hands every delivery not yet started back to
    /// the broker for another consumer.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let this = Arc::new(self);
        let mut backoff = Backoff::default();
        while !super::stopping(&shutdown) {
            this.health.connecting(Source::RabbitMq);
            match this.clone().session(&mut backoff, shutdown.clone()).await {
                Ok(()) if super::stopping(&shutdown) => break,
                Ok(()) => tracing::warn!("rabbitmq consumer stream ended; reconnecting"),
                Err(e) => tracing::warn!(error = %e, "rabbitmq unavailable; reconnecting"),
            }
            this.health.down(Source::RabbitMq);
            tokio::select! {
                _ = backoff.wait() => {}
                _ = super::stopped(&mut shutdown) => {}
            }
        }
        tracing::info!("rabbitmq consumer stopped");
    }

    /// Declares the topology both ways round, so producers and Herald can start in any order.
    pub async fn declare(ch: &Channel, cfg: &AmqpConfig) -> lapin::Result<()> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.exchange_declare(
            cfg.exchange.as_str().into(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await?;
        ch.exchange_declare(
            DEAD_LETTER_EXCHANGE.into(),
            ExchangeKind::Fanout,
            durable,
            FieldTable::default(),
        )
        .await?;
        let qopts = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        ch.queue_declare(DEAD_LETTER_QUEUE.into(), qopts, FieldTable::default())
            .await?;
        ch.queue_bind(
            DEAD_LETTER_QUEUE.into(),
            DEAD_LETTER_EXCHANGE.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
        for (queue, keys) in &cfg.queues {
            ch.queue_declare(queue.as_str().into(), qopts, FieldTable::default())
                .await?;
            for key in keys {
                ch.queue_bind(
                    queue.as_str().into(),
                    cfg.exchange.as_str().into(),
                    key.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn session(
        self: Arc<Self>,
        backoff: &mut Backoff,
        mut shutdown: watch::Receiver<bool>,
    ) -> lapin::Result<()> {
        let connect = Connection::connect(
            &self.cfg.url,
            ConnectionProperties::default().with_connection_name("herald".into()),
        );
        let conn = tokio::select! {
            conn = connect => conn?,
            _ = super::stopped(&mut shutdown) => return Ok(()),
        };
        let ch = conn.create_channel().await?;
        Self::declare(&ch, &self.cfg).await?;
        ch.basic_qos(self.cfg.prefetch, BasicQosOptions::default())
            .await?;
        let mut streams = vec![];
        for (queue, _) in &self.cfg.queues {
            let consumer = ch
                .basic_consume(
                    queue.as_str().into(),
                    format!("herald-{queue}").as_str().into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            let q = queue.clone();
            streams.push(consumer.map(move |d| (q.clone(), d)).boxed());
        }
        self.health.connected(Source::RabbitMq);
        backoff.reset();
        tracing::info!(exchange = %self.cfg.exchange, queues = self.cfg.queues.len(), "consuming from rabbitmq");
        // Many deliveries in flight at once (bounded by the prefetch), so the
        // group-commit writer sees batches.
        let limit = self.cfg.prefetch.max(1) as usize;
        // Once stopping, no new delivery is taken; those already taken run to their settle.
        let mut stop = shutdown.clone();
        let consume = futures_util::stream::select_all(streams)
            .take_until(Box::pin(async move { super::stopped(&mut stop).await }))
            .for_each_concurrent(limit, |(queue, delivery)| {
                let (this, ch) = (self.clone(), ch.clone());
                async move {
                    match delivery {
                        Ok(d) => this.handle(&ch, &queue, d).await,
                        Err(e) => tracing::warn!(error = %e, "rabbitmq delivery error"),
                    }
                }
            });
        // A broker that goes away does not always end the consumer streams;
        // watch the connection so the reconnect loop takes over.
        let watchdog = async {
            while conn.status().connected() {
                tokio::time::sleep(CONNECTION_CHECK).await;
            }
        };
        tokio::select! {
            _ = consume => {}
            _ = watchdog => tracing::warn!("rabbitmq connection lost"),
        }
        if super::stopping(&shutdown) {
            // Unacknowledged deliveries (prefetched, never started) go back to
            // the queue when the channel closes.
            let _ = ch.close(200, "herald node shutting down".into()).await;
            let _ = conn.close(200, "herald node shutting down".into()).await;
        }
        Ok(())
    }

    /// Processes one delivery and settles it. Exposed for tests.
    pub async fn handle(&self, ch: &Channel, queue: &str, d: Delivery) {
        let routing_key = d.routing_key.as_str().to_string();
        let source = format!("amqp:{queue}");
        let inbound = cloudevents::inbound(&d, &routing_key, &source);
        let verdict = self.judge(&inbound).await;
        let settled = match verdict {
            Verdict::Ack => {
                self.forget(&d.data);
                d.acker.ack(BasicAckOptions::default()).await
            }
            Verdict::Requeue => {
                tokio::time::sleep(REQUEUE_DELAY).await;
                d.acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        ..Default::default()
                    })
                    .await
            }
            Verdict::DeadLetter(reason) => {
                if let Err(e) = self
                    .dead_letter(ch, queue, &routing_key, &inbound.replayable_body(), &reason)
                    .await
                {
                    tracing::error!(error = %e, "could not dead-letter; requeueing");
                    d.acker
                        .nack(BasicNackOptions {
                            requeue: true,
                            ..Default::default()
                        })
                        .await
                } else {
                    self.forget(&d.data);
                    d.acker.ack(BasicAckOptions::default()).await
                }
            }
        };
        if let Err(e) = settled {
            tracing::warn!(error = %e, "could not settle a delivery; it will be redelivered");
        }
    }

    async fn judge(&self, inbound: &crate::pipeline::ingress::Inbound<'_>) -> Verdict {
        let body = inbound.body;
        match self.pipeline.ingest_inbound(inbound).await {
            Ok(_) => Verdict::Ack,
            Err(e) if e.is_transient() => {
                let n = self.failures.lock().map(|mut f| {
                    let key = f.key(body);
                    f.record(key)
                });
                match n {
                    Ok(n) if n >= self.cfg.max_redeliveries => {
                        Verdict::DeadLetter(format!("failed {n} times: {e}"))
                    }
                    _ => Verdict::Requeue,
                }
            }
            Err(e) => Verdict::DeadLetter(e.to_string()),
        }
    }

    /// The body was settled for good: its failures need no remembering.
    fn forget(&self, body: &[u8]) {
        if let Ok(mut f) = self.failures.lock() {
            let key = f.key(body);
            f.forget(key);
        }
    }

    async fn dead_letter(
        &self,
        ch: &Channel,
        queue: &str,
        routing_key: &str,
        body: &[u8],
        reason: &str,
    ) -> Result<(), String> {
        let mut headers = FieldTable::default();
        headers.insert(
            "x-herald-reason".into(),
            AMQPValue::LongString(reason.into()),
        );
        headers.insert("x-herald-queue".into(), AMQPValue::LongString(queue.into()));
        headers.insert(
            "x-herald-routing-key".into(),
            AMQPValue::LongString(routing_key.into()),
        );
        ch.basic_publish(
            DEAD_LETTER_EXCHANGE.into(),
            routing_key.into(),
            BasicPublishOptions::default(),
            body,
            BasicProperties::default()
                .with_headers(headers)
                .with_delivery_mode(2),
        )
        .await
        .map_err(|e| e.to_string())?;
        let meta = json!({"queue": queue, "routing_key": routing_key});
        self.pipeline
            .dead_letter(&format!("amqp:{queue}"), reason, body, meta)
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}
