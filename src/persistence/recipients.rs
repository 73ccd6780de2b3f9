//! Batched recipient lookups for the event pipeline. At thousands of events
//! per second, two single-row reads per event (user, preferences) cost more
//! database CPU than the batched writes; this answers every lookup queued
//! while the previous batch ran with one `IN (…)` query over both tables.

use super::{preferences, StoreError, StoreResult};
use crate::domain::{PreferenceDocument, UserId};
use entity::{preferences as p, users as u};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Mutex};

const MAX_BATCH: usize = 512;

pub type Looked = (Option<u::Model>, PreferenceDocument);

struct Job {
    user: UserId,
    reply: oneshot::Sender<StoreResult<Looked>>,
}

#[derive(Clone)]
pub struct RecipientLoader {
    tx: mpsc::Sender<Job>,
}

pub struct LoaderTask {
    db: DatabaseConnection,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
}

impl RecipientLoader {
    /// The handle and `loops` tasks to spawn.
    pub fn new(db: DatabaseConnection, loops: usize) -> (Self, Vec<LoaderTask>) {
        let (tx, rx) = mpsc::channel(8192);
        let rx = Arc::new(Mutex::new(rx));
        let tasks = (0..loops.max(1))
            .map(|_| LoaderTask {
                db: db.clone(),
                rx: rx.clone(),
            })
            .collect();
        (Self { tx }, tasks)
    }

    /// The user's row (if any) and preferences.
    pub async fn load(&self, user: UserId) -> StoreResult<Looked> {
        let (reply, rx) = oneshot::channel();
        let closed = || StoreError::Corrupt("recipient loader stopped".into());
        self.tx
            .send(Job { user, reply })
            .await
            .map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

impl LoaderTask {
    pub async fn run(self) {
        loop {
            let Some(batch) = super::take_batch(&self.rx, MAX_BATCH).await else {
                return;
            };
            match self.lookup(&batch).await {
                Ok(found) => {
                    for job in batch {
                        let hit = found
                            .get(job.user.as_str())
                            .cloned()
                            .unwrap_or((None, PreferenceDocument::default()));
                        let _ = job.reply.send(Ok(hit));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for job in batch {
                        let _ = job.reply.send(Err(StoreError::Corrupt(format!(
                            "recipient lookup failed: {msg}"
                        ))));
                    }
                }
            }
        }
    }

    /// One query for the whole batch: preferences rows have a foreign key to
    /// their user, so a LEFT JOIN from users finds every row there is (one
    /// SQLite command instead of two: each costs a round trip to its thread).
    async fn lookup(&self, batch: &[Job]) -> StoreResult<HashMap<String, Looked>> {
        let mut ids: Vec<&str> = batch.iter().map(|j| j.user.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let found = u::Entity::find()
            .find_also_related(p::Entity)
            .filter(u::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?;
        let mut out: HashMap<String, Looked> = HashMap::with_capacity(found.len());
        for (user, prefs) in found {
            let doc = match &prefs {
                Some(row) => preferences::from_row(row)?,
                None => PreferenceDocument::default(),
            };
            out.insert(user.id.clone(), (Some(user), doc));
        }
        Ok(out)
    }
}
