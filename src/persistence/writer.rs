//! Group commit for notifications. Concurrent sends queue here; one task
//! writes whatever has queued as a single transaction: one bulk user
//! upsert, one `UPDATE … RETURNING` that hands out every user's seqs, one
//! multi-row INSERT. SQLite stops sleeping in its busy handler, and
//! PostgreSQL pays one commit per batch instead of one per notification.

use super::notifications::{find_existing, insert, Inserted};
use super::{json_text, StoreError, StoreResult};
use crate::domain::{NewNotification, NotificationId, NotificationView};
use chrono::Utc;
use entity::{notifications as n, users as u};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, ExprTrait,
    TransactionTrait,
};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::{mpsc, oneshot};

/// Most notifications written in one transaction.
pub const MAX_BATCH: usize = 512;
/// Sends that may wait for the writer before callers feel backpressure.
const QUEUE: usize = 8192;

struct Job {
    new: NewNotification,
    reply: oneshot::Sender<StoreResult<Inserted>>,
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

    /// Stores `new` exactly once per (user, request_id), like [`insert`], batched with its neighbours.
    pub async fn insert(&self, new: NewNotification) -> StoreResult<Inserted> {
        let (reply, rx) = oneshot::channel();
        let closed = || StoreError::Corrupt("notification writer stopped".into());
        self.tx
            .send(Job { new, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

impl WriterTask {
    pub async fn run(self) {
        loop {
            // Take a batch while holding the queue, then write it without holding it.
            let batch = {
                let mut rx = self.rx.lock().await;
                let Some(first) = rx.recv().await else { return };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                batch
            };
            self.step(batch).await;
        }
    }

    /// Writes one batch and answers every caller in it.
    async fn step(&self, jobs: Vec<Job>) {
        let news: Vec<&NewNotification> = jobs.iter().map(|j| &j.new).collect();
        match write_batch(&self.db, &news).await {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                // A race with another node on a request_id, a deadlock, a bad row:
                // isolate it by writing each notification on its own.
                tracing::warn!(error = %e, size = jobs.len(), "batch insert failed; writing one by one");
                for job in jobs {
                    let result = insert(&self.db, &job.new).await;
                    let _ = job.reply.send(result);
                }
            }
        }
    }
}

fn view(
    new: &NewNotification,
    id: uuid::Uuid,
    seq: i64,
    now: chrono::DateTime<Utc>,
) -> NotificationView {
    NotificationView {
        id,
        seq,
        category: new.category.as_str().to_string(),
        title: new.title.clone(),
        body: new.body.clone(),
        action_url: new.action_url.as_ref().map(|a| a.as_str().to_string()),
        data: new.data.clone(),
        priority: new.priority,
        created_at: now,
        read_at: None,
    }
}

fn active_model(new: &NewNotification, v: &NotificationView) -> n::ActiveModel {
    n::ActiveModel {
        id: Set(v.id),
        user_id: Set(new.user_id.as_str().to_string()),
        seq: Set(v.seq),
        category: Set(v.category.clone()),
        title: Set(v.title.clone()),
        body: Set(v.body.clone()),
        action_url: Set(v.action_url.clone()),
        data: Set(json_text(&v.data)),
        priority: Set(v.priority.as_str().to_string()),
        request_id: Set(new.request_id.clone()),
        template_code: Set(new.template.as_ref().map(|t| t.0.clone())),
        template_version: Set(new.template.as_ref().map(|t| t.1)),
        read_at: Set(None),
        deleted_at: Set(None),
        created_at: Set(v.created_at),
    }
}

/// Creates missing users and bumps every user's counter by its count, in one
/// statement: `INSERT … ON CONFLICT (id) DO UPDATE SET last_seq = last_seq + excluded.last_seq
/// RETURNING id, last_seq`. Rows are sorted by id, so concurrent batches lock users in
/// the same order. Returns user -> new last_seq.
async fn bump_seqs(
    db: &impl ConnectionTrait,
    counts: &BTreeMap<&str, i64>,
) -> StoreResult<HashMap<String, i64>> {
    let now = Utc::now();
    let mut insert = Query::insert();
    insert.into_table(u::Entity).columns([
        u::Column::Id,
        u::Column::Data,
        u::Column::LastSeq,
        u::Column::CreatedAt,
        u::Column::UpdatedAt,
    ]);
    for (user, k) in counts {
        insert
            .values([
                (*user).into(),
                "{}".into(),
                (*k).into(),
                now.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    }
    let excluded = Expr::col((Alias::new("excluded"), u::Column::LastSeq));
    insert
        .on_conflict(
            OnConflict::column(u::Column::Id)
                .value(
                    u::Column::LastSeq,
                    Expr::col((u::Entity, u::Column::LastSeq)).add(excluded),
                )
                .to_owned(),
        )
        .returning(Query::returning().columns([u::Column::Id, u::Column::LastSeq]));
    let mut out = HashMap::with_capacity(counts.len());
    for row in db.query_all(&insert).await? {
        out.insert(
            row.try_get::<String>("", "id")?,
            row.try_get::<i64>("", "last_seq")?,
        );
    }
    Ok(out)
}

async fn write_batch(
    db: &DatabaseConnection,
    news: &[&NewNotification],
) -> StoreResult<Vec<Inserted>> {
    let mut results: Vec<Option<Inserted>> = vec![None; news.len()];
    // Idempotency: earlier notifications with these request ids, and repeats inside the batch.
    let existing =
        find_existing(db, news.iter().filter(|n| n.request_id.is_some()).copied()).await?;
    let mut leaders: HashMap<(&str, &str), usize> = HashMap::new();
    let mut followers = vec![];
    let mut fresh = vec![];
    for (i, new) in news.iter().enumerate() {
        if let Some(rid) = new.request_id.as_deref() {
            let key = (new.user_id.as_str(), rid);
            if let Some(found) = existing.get(&(key.0.to_string(), rid.to_string())) {
                results[i] = Some(Inserted {
                    view: found.clone(),
                    created: false,
                });
                continue;
            }
            if let Some(&leader) = leaders.get(&key) {
                followers.push((i, leader));
                continue;
            }
            leaders.insert(key, i);
        }
        fresh.push(i);
    }
    if !fresh.is_empty() {
        let now = Utc::now();
        let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
        for &i in &fresh {
            *counts.entry(news[i].user_id.as_str()).or_default() += 1;
        }
        let txn = db.begin().await?;
        let lasts = bump_seqs(&txn, &counts).await?;
        // Seqs were handed out as (last - count, last]; give them in arrival order.
        let mut next: HashMap<&str, i64> = HashMap::with_capacity(counts.len());
        for (user, k) in &counts {
            let last = lasts
                .get(*user)
                .ok_or_else(|| StoreError::Corrupt(format!("no seq for {user}")))?;
            next.insert(user, last - k + 1);
        }
        let mut models = Vec::with_capacity(fresh.len());
        for &i in &fresh {
            let new = news[i];
            let seq = next
                .get_mut(new.user_id.as_str())
                .ok_or_else(|| StoreError::Corrupt("seq".into()))?;
            let v = view(new, NotificationId::new().as_uuid(), *seq, now);
            *seq += 1;
            models.push(active_model(new, &v));
            results[i] = Some(Inserted {
                view: v,
                created: true,
            });
        }
        n::Entity::insert_many(models)
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
    }
    for (i, leader) in followers {
        results[i] = results[leader].clone().map(|r| Inserted {
            created: false,
            ..r
        });
    }
    results
        .into_iter()
        .map(|r| {
            r.ok_or_else(|| StoreError::Corrupt("batch left a notification unanswered".into()))
        })
        .collect()
}
