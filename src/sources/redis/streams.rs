//! Reading stream entries through the consumer group: new ones with
//! XREADGROUP, stale ones with XAUTOCLAIM. An entry is acknowledged once its
//! effects are committed or its dead letter is recorded; one that fails
//! transiently stays pending and comes back through XAUTOCLAIM, until its
//! delivery count reaches the limit and it is dead-lettered instead.

use super::{entry_body, RedisSource, GROUP};
use crate::pipeline::PipelineError;
use redis::aio::MultiplexedConnection;
use redis::streams::{StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamReadReply};
use redis::AsyncCommands;
use serde_json::json;

/// Entries read per XREADGROUP / XAUTOCLAIM page.
const BATCH: usize = 256;
/// How long XREADGROUP blocks waiting for entries.
const BLOCK_MS: usize = 1000;
/// XAUTOCLAIM pages per claim pass, so a long pending list cannot starve new entries.
const CLAIM_PAGES: usize = 8;
/// The cursor XAUTOCLAIM starts from and returns once it has walked the whole list.
const CURSOR_START: &str = "0-0";

/// What becomes of an entry after one try.
#[derive(Debug, PartialEq, Eq)]
enum Settle {
    Ack,
    /// Left pending: XAUTOCLAIM delivers it again later.
    Retry,
    DeadLetter(String),
}

fn settle(result: Result<(), &PipelineError>, deliveries: u64, max_deliveries: u64) -> Settle {
    match result {
        Ok(()) => Settle::Ack,
        Err(e) if e.is_transient() && deliveries < max_deliveries => Settle::Retry,
        Err(e) if e.is_transient() => Settle::DeadLetter(format!(
            "failed on each of {deliveries} deliveries; last: {e}"
        )),
        Err(e) => Settle::DeadLetter(e.to_string()),
    }
}

impl RedisSource {
    /// Reads and processes one batch of new entries. Exposed for tests.
    pub async fn step(&self, conn: &mut MultiplexedConnection) -> redis::RedisResult<usize> {
        let opts = redis::streams::StreamReadOptions::default()
            .group(GROUP, &self.consumer)
            .count(BATCH)
            .block(BLOCK_MS);
        let ids: Vec<&str> = self.streams.iter().map(|_| ">").collect();
        let reply: Option<StreamReadReply> = conn.xread_options(&self.streams, &ids, &opts).await?;
        let mut n = 0;
        for key in reply.map(|r| r.keys).unwrap_or_default() {
            n += key.ids.len();
            // Read with `>`: this is each entry's first delivery.
            let entries = key.ids.into_iter().map(|e| (e, 1)).collect();
            self.process_entries(conn, &key.key, entries).await?;
        }
        Ok(n)
    }

    /// Claims and processes entries idle past `claim_idle_ms`, walking the
    /// XAUTOCLAIM cursor for up to [`CLAIM_PAGES`] pages from `cursor`, and
    /// leaves `cursor` where the next pass resumes.
    #[tracing::instrument(skip(self, conn, cursor))]
    pub(super) async fn claim_stale(
        &self,
        conn: &mut MultiplexedConnection,
        stream: &str,
        cursor: &mut String,
    ) -> redis::RedisResult<()> {
        for _ in 0..CLAIM_PAGES {
            let reply: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
                .arg(stream)
                .arg(GROUP)
                .arg(&self.consumer)
                .arg(self.claim_idle_ms)
                .arg(cursor.as_str())
                .arg("COUNT")
                .arg(BATCH)
                .query_async(conn)
                .await?;
            *cursor = reply.next_stream_id;
            if !reply.claimed.is_empty() {
                tracing::info!(
                    stream,
                    count = reply.claimed.len(),
                    "claimed stale stream entries"
                );
                let counted = self.delivery_counts(conn, stream, reply.claimed).await?;
                self.process_entries(conn, stream, counted).await?;
            }
            if cursor.as_str() == CURSOR_START {
                break;
            }
        }
        Ok(())
    }

    /// Each claimed entry with the number of times it has been delivered,
    /// this claim included (XAUTOCLAIM does not report it; XPENDING does).
    async fn delivery_counts(
        &self,
        conn: &mut MultiplexedConnection,
        stream: &str,
        entries: Vec<StreamId>,
    ) -> redis::RedisResult<Vec<(StreamId, u64)>> {
        let mut pipe = redis::pipe();
        for e in &entries {
            pipe.xpending_count(stream, GROUP, &e.id, &e.id, 1);
        }
        let replies: Vec<StreamPendingCountReply> = pipe.query_async(conn).await?;
        Ok(entries
            .into_iter()
            .zip(replies)
            .map(|(e, r)| {
                // Absent means someone acknowledged it meanwhile: one more try is harmless (dedupe).
                let n = r.ids.first().map_or(1, |p| p.times_delivered as u64);
                (e, n)
            })
            .collect())
    }

    async fn process_entries(
        &self,
        conn: &mut MultiplexedConnection,
        stream: &str,
        entries: Vec<(StreamId, u64)>,
    ) -> redis::RedisResult<()> {
        let source = format!("stream:{stream}");
        let outcomes = futures_util::future::join_all(entries.iter().map(|(e, deliveries)| {
            let body = entry_body(e);
            let source = source.clone();
            async move {
                // A `traceparent` beside the event field, or inside the event, continues its trace.
                let trace = crate::trace::from_headers(|name| {
                    redis::from_redis_value::<String>(e.map.get(name)?.clone()).ok()
                });
                let inbound = crate::pipeline::ingress::Inbound {
                    body: &body,
                    shape: crate::pipeline::ingress::Shape::Json {
                        fallback_type: Some(stream),
                    },
                    source: &source,
                    trace,
                };
                let result = self.pipeline.ingest_inbound(&inbound).await;
                match settle(result.as_ref().map(|_| ()), *deliveries, self.max_deliveries) {
                    Settle::Ack => true,
                    Settle::Retry => false,
                    Settle::DeadLetter(reason) => {
                        let meta = json!({"stream": stream, "entry_id": e.id, "routing_key": stream, "deliveries": deliveries});
                        match self.pipeline.dead_letter(&source, &reason, &body, meta).await {
                            Ok(_) => true,
                            Err(store) => {
                                // Left pending: the next claim tries the dead letter again.
                                tracing::error!(error = %store, entry_id = %e.id, "could not record a dead letter for a stream entry");
                                false
                            }
                        }
                    }
                }
            }
        }))
        .await;
        let done: Vec<&str> = entries
            .iter()
            .zip(outcomes)
            .filter(|(_, ok)| *ok)
            .map(|((e, _), _)| e.id.as_str())
            .collect();
        if !done.is_empty() {
            // Acknowledged only after commit (or after the dead letter is recorded).
            conn.xack::<_, _, _, ()>(stream, GROUP, &done).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::persistence::StoreError;

    fn transient() -> PipelineError {
        PipelineError::Transient(StoreError::Db(sea_orm::DbErr::Custom("down".into())))
    }

    #[test]
    fn a_transient_failure_is_retried_until_the_delivery_limit_then_dead_lettered() {
        let e = transient();
        assert_eq!(settle(Err(&e), 1, 5), Settle::Retry);
        assert_eq!(settle(Err(&e), 4, 5), Settle::Retry);
        assert!(
            matches!(settle(Err(&e), 5, 5), Settle::DeadLetter(r) if r.contains("5 deliveries"))
        );
        assert!(matches!(settle(Err(&e), 9, 5), Settle::DeadLetter(_)));
    }

    #[test]
    fn a_permanent_failure_is_dead_lettered_at_once_and_success_is_acked() {
        let e = PipelineError::Rejected("no user id".into());
        assert_eq!(
            settle(Err(&e), 1, 5),
            Settle::DeadLetter("no user id".into())
        );
        assert_eq!(settle(Ok(()), 5, 5), Settle::Ack);
    }
}
