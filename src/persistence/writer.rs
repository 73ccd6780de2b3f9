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
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    ExprTrait, QueryFilter, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::{mpsc, oneshot};

/// Most notifications written in one transaction.
pub const MAX_BATCH: usize = 512;
/// Sends that may wait for the writer before callers feel backpressure.
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

/// A message for a non-in-app channel, stored `pending` for the channel actors.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub user_id: String,
    pub channel: String,
    pub content: serde_json::Value,
    pub template: Option<(String, i32)>,
    pub rule_id: Option<uuid::Uuid>,
    /// Index into the unit's notifications of the in-app twin, if any.
    pub notification: Option<usize>,
    /// When it may first be sent (quiet hours defer it).
    pub not_before: chrono::DateTime<Utc>,
}

/// Everything one event (or one `/send`) produces, committed together.
#[derive(Clone, Debug, Default)]
pub struct Unit {
    pub event: Option<EventRecord>,
    pub notifications: Vec<NewNotification>,
    pub deliveries: Vec<NewDelivery>,
}

#[derive(Clone, Debug)]
pub enum UnitResult {
    /// The event had been processed before: nothing was written.
    Duplicate,
    Written {
        notifications: Vec<Inserted>,
        deliveries: Vec<uuid::Uuid>,
    },
}

struct Job {
    unit: Unit,
    reply: oneshot::Sender<StoreResult<UnitResult>>,
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
        match self
            .write(Unit {
                notifications: vec![new],
                ..Unit::default()
            })
            .await?
        {
            UnitResult::Written {
                mut notifications, ..
            } if !notifications.is_empty() => Ok(notifications.remove(0)),
            _ => Err(StoreError::Corrupt(
                "a unit without an event cannot be a duplicate".into(),
            )),
        }
    }

    /// Commits a whole unit in one transaction, batched with its neighbours.
    pub async fn write(&self, unit: Unit) -> StoreResult<UnitResult> {
        let (reply, rx) = oneshot::channel();
        let closed = || StoreError::Corrupt("notification writer stopped".into());
        self.tx
            .send(Job { unit, reply })
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
        let units: Vec<&Unit> = jobs.iter().map(|j| &j.unit).collect();
        match write_batch(&self.db, &units).await {
            Ok(results) => {
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                // A race with another node on an event or request id, a deadlock, a bad row:
                // isolate it by writing each unit on its own.
                tracing::warn!(error = %e, size = jobs.len(), "batch write failed; writing one by one");
                for job in jobs {
                    let result = write_alone(&self.db, &job.unit).await;
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

async fn write_alone(db: &DatabaseConnection, unit: &Unit) -> StoreResult<UnitResult> {
    match write_batch(db, &[unit]).await {
        Ok(mut r) => r
            .pop()
            .ok_or_else(|| StoreError::Corrupt("empty batch result".into())),
        Err(StoreError::Db(e)) if super::is_unique_violation(&e) => {
            // Another node committed the same event or request id first.
            if let Some(ev) = &unit.event {
                if super::events::find(db, &ev.event_id).await?.is_some() {
                    return Ok(UnitResult::Duplicate);
                }
            }
            match unit.notifications.as_slice() {
                [only] if unit.event.is_none() => Ok(UnitResult::Written {
                    notifications: vec![insert(db, only).await?],
                    deliveries: vec![],
                }),
                _ => Err(StoreError::Db(e)),
            }
        }
        Err(e) => Err(e),
    }
}

fn delivery_model(
    d: &NewDelivery,
    event_id: Option<&str>,
    notification_id: Option<uuid::Uuid>,
    now: chrono::DateTime<Utc>,
) -> (uuid::Uuid, entity::deliveries::ActiveModel) {
    let id = uuid::Uuid::now_v7();
    let am = entity::deliveries::ActiveModel {
        id: Set(id),
        event_id: Set(event_id.map(str::to_string)),
        notification_id: Set(notification_id),
        rule_id: Set(d.rule_id),
        user_id: Set(Some(d.user_id.clone()).filter(|u| !u.is_empty())),
        channel: Set(d.channel.clone()),
        // In-app is handed to the bus right after commit; the rest wait for their channel.
        status: Set(if d.channel == "in_app" {
            "sent".into()
        } else {
            "pending".into()
        }),
        content: Set(d.content.to_string()),
        template_code: Set(d.template.as_ref().map(|t| t.0.clone())),
        template_version: Set(d.template.as_ref().map(|t| t.1)),
        attempts: Set(0),
        next_attempt_at: Set(d.not_before),
        last_error: Set(None),
        provider_message_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    (id, am)
}

async fn write_batch(db: &DatabaseConnection, units: &[&Unit]) -> StoreResult<Vec<UnitResult>> {
    // 1. Events already processed, or repeated inside this batch, write nothing.
    let mut duplicate = vec![false; units.len()];
    let ids: Vec<String> = units
        .iter()
        .filter_map(|u| u.event.as_ref().map(|e| e.event_id.clone()))
        .collect();
    if !ids.is_empty() {
        let seen: std::collections::HashSet<String> = entity::events::Entity::find()
            .filter(entity::events::Column::EventId.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.event_id)
            .collect();
        let mut in_batch = std::collections::HashSet::new();
        for (i, u) in units.iter().enumerate() {
            if let Some(ev) = &u.event {
                duplicate[i] = seen.contains(&ev.event_id) || !in_batch.insert(ev.event_id.clone());
            }
        }
    }
    // 2. Notifications, flattened, with request-id idempotency as for /send.
    let flat: Vec<(usize, &NewNotification)> = units
        .iter()
        .enumerate()
        .filter(|(i, _)| !duplicate[*i])
        .flat_map(|(i, u)| u.notifications.iter().map(move |n| (i, n)))
        .collect();
    let mut results: Vec<Option<Inserted>> = vec![None; flat.len()];
    let existing = find_existing(
        db,
        flat.iter()
            .map(|(_, n)| *n)
            .filter(|n| n.request_id.is_some()),
    )
    .await?;
    let mut leaders: HashMap<(&str, &str), usize> = HashMap::new();
    let mut followers = vec![];
    let mut fresh = vec![];
    for (k, (_, new)) in flat.iter().enumerate() {
        if let Some(rid) = new.request_id.as_deref() {
            let key = (new.user_id.as_str(), rid);
            if let Some(found) = existing.get(&(key.0.to_string(), rid.to_string())) {
                results[k] = Some(Inserted {
                    view: found.clone(),
                    created: false,
                });
                continue;
            }
            if let Some(&leader) = leaders.get(&key) {
                followers.push((k, leader));
                continue;
            }
            leaders.insert(key, k);
        }
        fresh.push(k);
    }
    let writes_events = units
        .iter()
        .enumerate()
        .any(|(i, u)| !duplicate[i] && u.event.is_some());
    let writes_deliveries = units
        .iter()
        .enumerate()
        .any(|(i, u)| !duplicate[i] && !u.deliveries.is_empty());
    let mut delivery_ids: Vec<Vec<uuid::Uuid>> = vec![vec![]; units.len()];
    if !fresh.is_empty() || writes_events || writes_deliveries {
        let now = Utc::now();
        let txn = db.begin().await?;
        let events: Vec<entity::events::ActiveModel> = units
            .iter()
            .enumerate()
            .filter(|(i, _)| !duplicate[*i])
            .filter_map(|(_, u)| u.event.as_ref())
            .map(|ev| entity::events::ActiveModel {
                event_id: Set(ev.event_id.clone()),
                event_type: Set(ev.event_type.clone()),
                source: Set(ev.source.clone()),
                status: Set(ev.status.clone()),
                outcome: Set(ev.outcome.to_string()),
                created_at: Set(now),
            })
            .collect();
        if !events.is_empty() {
            entity::events::Entity::insert_many(events)
                .exec_without_returning(&txn)
                .await?;
        }
        if !fresh.is_empty() {
            let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
            for &k in &fresh {
                *counts.entry(flat[k].1.user_id.as_str()).or_default() += 1;
            }
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
            for &k in &fresh {
                let new = flat[k].1;
                let seq = next
                    .get_mut(new.user_id.as_str())
                    .ok_or_else(|| StoreError::Corrupt("seq".into()))?;
                let v = view(new, NotificationId::new().as_uuid(), *seq, now);
                *seq += 1;
                models.push(active_model(new, &v));
                results[k] = Some(Inserted {
                    view: v,
                    created: true,
                });
            }
            n::Entity::insert_many(models)
                .exec_without_returning(&txn)
                .await?;
        }
        for (k, leader) in &followers {
            results[*k] = results[*leader].clone().map(|r| Inserted {
                created: false,
                ..r
            });
        }
        // 3. Deliveries, linked to their unit's in-app notification when there is one.
        let mut deliveries = vec![];
        let mut offset = 0;
        for (i, u) in units.iter().enumerate() {
            if duplicate[i] {
                continue;
            }
            for d in &u.deliveries {
                let linked_result = d
                    .notification
                    .and_then(|j| results.get(offset + j).cloned().flatten());
                // A repeat of a request id created no notification, so it adds no delivery either.
                if linked_result.as_ref().is_some_and(|r| !r.created) {
                    continue;
                }
                let linked = linked_result.map(|r| r.view.id);
                let (id, am) = delivery_model(
                    d,
                    u.event.as_ref().map(|e| e.event_id.as_str()),
                    linked,
                    now,
                );
                delivery_ids[i].push(id);
                deliveries.push(am);
            }
            offset += u.notifications.len();
        }
        if !deliveries.is_empty() {
            entity::deliveries::Entity::insert_many(deliveries)
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
    }
    for (k, leader) in followers {
        results[k] = results[leader].clone().map(|r| Inserted {
            created: false,
            ..r
        });
    }
    // 4. Answer per unit.
    let mut out = Vec::with_capacity(units.len());
    let mut flat_iter = results.into_iter();
    for (i, u) in units.iter().enumerate() {
        if duplicate[i] {
            out.push(UnitResult::Duplicate);
            continue;
        }
        let mut notifications = Vec::with_capacity(u.notifications.len());
        for _ in 0..u.notifications.len() {
            let r = flat_iter.next().flatten().ok_or_else(|| {
                StoreError::Corrupt("batch left a notification unanswered".into())
            })?;
            notifications.push(r);
        }
        out.push(UnitResult::Written {
            notifications,
            deliveries: std::mem::take(&mut delivery_ids[i]),
        });
    }
    Ok(out)
}
