//! Batched recipient lookups for the event pipeline. At thousands of events
//! per second, two single-row reads per event (user, preferences) cost more
//! database CPU than the batched writes; this answers every lookup queued
//! while the previous batch ran with one `IN (…)` query per table.

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

    async fn lookup(&self, batch: &[Job]) -> StoreResult<HashMap<String, Looked>> {
        let mut ids: Vec<&str> = batch.iter().map(|j| j.user.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let users = u::Entity::find()
            .filter(u::Column::Id.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?;
        let prefs = p::Entity::find()
            .filter(p::Column::UserId.is_in(ids.iter().copied()))
            .all(&self.db)
            .await?;
        let mut out: HashMap<String, Looked> = users
            .into_iter()
            .map(|m| (m.id.clone(), (Some(m), PreferenceDocument::default())))
            .collect();
        for row in prefs {
            let doc = preferences::from_row(&row)?;
            out.entry(row.user_id.clone())
                .or_insert((None, PreferenceDocument::default()))
                .1 = doc;
        }
        Ok(out)
    }
}
