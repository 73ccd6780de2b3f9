//! Group commit for everything the producer creates. Concurrent units queue
//! here; one task writes whatever has queued as a single transaction: the
//! dedupe guards, one bulk user upsert that hands out every user's seqs, and
//! multi-row INSERTs of notifications and deliveries. SQLite stops sleeping in
//! its busy handler, and PostgreSQL pays one commit per batch instead of one
//! per notification.

mod batch;
mod one_statement;
mod rows;

use super::notifications::Inserted;
use super::{StoreError, StoreResult};
use crate::domain::{
    Category, Channel, ChannelOutcome, DeliveryContent, NewNotification, Priority, UserId,
};
use sea_orm::{DatabaseConnection, DbBackend};
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot};

/// Most jobs (a send, an event, a fan-out batch) written in one transaction.
pub const MAX_BATCH: usize = 512;
/// Units that may wait for the writer before callers feel backpressure.
const QUEUE: usize = 8192;

/// The processed-event row that guards an event's unit: its primary key is the dedupe key.
#[derive(Clone, Debug)]
pub struct EventRecord {
    pub event_id: String,
    pub event_type: String,
    pub source: String,
    pub status: String,
    pub outcome: serde_json::Value,
}

/// The `/send` guard: (user, request_id) is the dedupe key, and the
/// per-channel outcomes are kept so a repeat can answer as the original did.
#[derive(Clone, Debug)]
pub struct RequestGuard {
    pub user: UserId,
    pub request_id: String,
    pub outcomes: BTreeMap<Channel, ChannelOutcome>,
}

/// What makes a unit happen at most once.
#[derive(Clone, Debug)]
pub enum Guard {
    Event(EventRecord),
    Request(RequestGuard),
}

/// One message on one channel, stored for its channel actor (in-app: already sent).
#[derive(Clone, Debug)]
pub struct NewDelivery {
    /// None for partner webhooks, which go to an endpoint rather than a user.
    pub user: Option<UserId>,
    pub content: DeliveryContent,
    pub category: Category,
    pub priority: Priority,
    pub template: Option<(String, i32)>,
    pub rule_id: Option<uuid::Uuid>,
    /// Index into the unit's notifications of the in-app notification it belongs to.
    pub notification: Option<usize>,
    /// When it may first be sent (quiet hours defer it).
    pub not_before: chrono::DateTime<chrono::Utc>,
}

/// Everything one event (or one `/send`) produces, committed together.
#[derive(Clone, Debug, Default)]
pub struct Unit {
    pub guard: Option<Guard>,
    pub notifications: Vec<NewNotification>,
    pub deliveries: Vec<NewDelivery>,
    /// Sends due later (a rule's `delay`), stored with the guard so none is lost or doubled.
    pub scheduled: Vec<super::scheduled::NewScheduled>,
    /// Events folded into digest buckets, in the same transaction as the guard.
    pub digests: Vec<super::digests::DigestFold>,
    /// Topic fan-outs an event's topic rules record, in the same transaction as its guard.
    pub fanouts: Vec<super::topic_fanouts::NewFanout>,
    /// The trace the unit was produced in: its event's audit keeps the trace
    /// id, and its deliveries are sent as children of it.
    pub trace: Option<crate::domain::TraceContext>,
}

#[derive(Clone, Debug)]
pub enum UnitResult {
    /// The guard had been written before (or earlier in this batch): nothing was written.
    Duplicate,
    Written {
        notifications: Vec<Inserted>,
        deliveries: Vec<uuid::Uuid>,
    },
}

/// Units that commit together: one for a send or an event, a whole batch
/// for a topic fan-out ([`NotificationWriter::write_many`]).
struct Job {
    units: Vec<Unit>,
    reply: oneshot::Sender<StoreResult<Vec<UnitResult>>>,
}

/// The handle callers use; cheap to clone.
#[derive(Clone)]
pub struct NotificationWriter {
    tx: mpsc::Sender<Job>,
}

/// Writer loops sharing one queue. SQLite has one writer at a time anyway;
/// on PostgreSQL several batches in flight hide each other's round trips.
pub fn writer_count(db: &DatabaseConnection) -> usize {
    match db.get_database_backend() {
        DbBackend::Sqlite => 1,
        _ => 4,
    }
}

/// The background loop; it ends when every handle is dropped.
pub struct WriterTask {
    db: DatabaseConnection,
    rx: std::sync::Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>,
}

impl NotificationWriter {
    /// The handle and `writer_count` loops to spawn.
    pub fn new(db: DatabaseConnection) -> (Self, Vec<WriterTask>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let rx = std::sync::Arc::new(tokio::sync::Mutex::new(rx));
        let tasks = (0..writer_count(&db))
            .map(|_| WriterTask {
                db: db.clone(),
                rx: rx.clone(),
            })
            .collect();
        (Self { tx }, tasks)
    }

    /// Commits a whole unit in one transaction, batched with its neighbours.
    pub async fn write(&self, unit: Unit) -> StoreResult<UnitResult> {
        self.write_many(vec![unit])
            .await?
            .pop()
            .ok_or_else(|| StoreError::Corrupt("the writer left a unit unanswered".into()))
    }

    /// Commits several units in ONE transaction (with whatever else is queued),
    /// one result per unit in order. A topic fan-out writes a batch this way.
    pub async fn write_many(&self, units: Vec<Unit>) -> StoreResult<Vec<UnitResult>> {
        let (reply, rx) = oneshot::channel();
        let closed = || StoreError::Corrupt("notification writer stopped".into());
        self.tx
            .send(Job { units, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

impl WriterTask {
    pub async fn run(self) {
        loop {
            // Take a batch while holding the queue, then write it without holding it.
            let Some(batch) = super::take_batch(&self.rx, MAX_BATCH).await else {
                return;
            };
            self.step(batch).await;
        }
    }

    /// Writes one batch and answers every caller in it.
    async fn step(&self, jobs: Vec<Job>) {
        let units: Vec<&Unit> = jobs.iter().flat_map(|j| &j.units).collect();
        match batch::write_batch(&self.db, &units).await {
            Ok(results) => {
                let mut results = results.into_iter();
                for job in jobs {
                    let mine: Vec<UnitResult> = results.by_ref().take(job.units.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                // A race with another node on an event or request id, a deadlock, a bad row:
                // isolate it by writing each unit on its own.
                tracing::warn!(error = %e, size = jobs.len(), "batch write failed; writing one by one");
                for job in jobs {
                    let result = write_each(&self.db, &job.units).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

/// A failed batch's units, each in its own transaction. A fan-out batch that
/// fails part way is retried whole; the units that committed are then duplicates.
async fn write_each(db: &DatabaseConnection, units: &[Unit]) -> StoreResult<Vec<UnitResult>> {
    let mut out = Vec::with_capacity(units.len());
    for unit in units {
        out.push(batch::write_alone(db, unit).await?);
    }
    Ok(out)
}
