//! Publishes queued envelopes to Redis, many per round trip.

use super::super::BusHealth;
use redis::aio::ConnectionManager;
use tokio::sync::{mpsc, watch};

/// Most envelopes sent in one pipelined round trip.
pub const PUBLISH_BATCH: usize = 256;

/// One envelope for one channel.
#[derive(Debug)]
pub struct Outgoing {
    pub channel: String,
    pub payload: Vec<u8>,
}

pub struct Publisher {
    conn: ConnectionManager,
    queue: mpsc::Receiver<Outgoing>,
    health: BusHealth,
}

impl Publisher {
    pub fn new(
        conn: ConnectionManager,
        queue: mpsc::Receiver<Outgoing>,
        health: BusHealth,
    ) -> Self {
        Self {
            conn,
            queue,
            health,
        }
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                more = self.step() => if !more { return },
            }
        }
    }

    /// Waits for one envelope, then sends it with whatever else is queued.
    /// Returns false once every sender is gone.
    pub async fn step(&mut self) -> bool {
        let mut batch = Vec::with_capacity(PUBLISH_BATCH);
        if self.queue.recv_many(&mut batch, PUBLISH_BATCH).await == 0 {
            return false;
        }
        let mut pipe = redis::pipe();
        for out in &batch {
            pipe.publish(&out.channel, &out.payload).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(&mut self.conn).await {
            // The batch is dropped, not retried: a node that missed it because Redis
            // was down resyncs from the database when its subscription comes back.
            if self.health.state() == super::super::LinkState::Connected {
                tracing::warn!(error = %e, frames = batch.len(), "bus publish failed");
            }
        }
        true
    }
}
