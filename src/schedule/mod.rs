//! Scheduled and delayed sends. A `/send` with `send_at` or `delay` is
//! stored as a row (the typed intent, its due time, a fenced lease) instead
//! of being sent; [`runner::ScheduleRunner`] runs each row through the one
//! producer when it is due. Nothing reaches the user before then: no
//! notification, frame or delivery exists until the step commits it.

mod rules;
pub mod runner;
mod stored;
mod timing;

pub use rules::{delayed, rule_delay};
pub use runner::{ScheduleRunner, POLL_INTERVAL};
pub use stored::StoredIntent;
pub use timing::{ScheduleStatus, SendTiming, TimingError};

use crate::domain::UserId;
use crate::persistence::scheduled::{self, NewScheduled};
use crate::persistence::StoreError;
use crate::producer::{InAppExtras, Intent};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use tokio::sync::Notify;
use uuid::Uuid;

/// Limits of scheduled sends (`HERALD_SCHEDULE__*`).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default)]
pub struct ScheduleSettings {
    /// Furthest ahead a send may be scheduled, in days.
    pub max_days: u32,
    /// Most due sends one step claims (the rest wait for the next step).
    pub batch: u64,
    /// Seconds a claimed send is leased to its step before another may take it over.
    pub lease_secs: u64,
    /// Most pending sends `GET /scheduled` lists for one user.
    pub list_limit: u64,
}

impl Default for ScheduleSettings {
    fn default() -> Self {
        Self {
            max_days: 30,
            batch: 100,
            lease_secs: 30,
            list_limit: 100,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error(transparent)]
    Timing(#[from] TimingError),
    #[error("no scheduled send matches")]
    NotFound,
    /// The send has moved past `pending`: it went out, is going out, or failed.
    #[error("the scheduled send is already {}", .0.as_str())]
    TooLate(ScheduleStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A scheduled send as the API shows it.
#[derive(Clone, Debug)]
pub struct Scheduled {
    pub id: Uuid,
    pub user: UserId,
    pub request_id: String,
    pub due_at: DateTime<Utc>,
    pub status: ScheduleStatus,
    pub notification_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl Scheduled {
    fn from_model(m: entity::scheduled_sends::Model) -> Result<Self, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("scheduled send {}: {what}", m.id));
        Ok(Self {
            id: m.id,
            user: UserId::parse(m.user_id.clone()).map_err(|_| corrupt("user"))?,
            status: ScheduleStatus::parse(&m.status).ok_or_else(|| corrupt("status"))?,
            request_id: m.request_id,
            due_at: m.due_at,
            notification_id: m.notification_id,
            created_at: m.created_at,
        })
    }
}

/// Which scheduled send a cancel names.
pub enum Target {
    Request { user: UserId, request_id: String },
    Id(Uuid),
}

/// What routes use: parse timings, store sends, list and cancel them.
#[derive(Clone)]
pub struct Schedules {
    db: DatabaseConnection,
    settings: ScheduleSettings,
    wake: Arc<Notify>,
}

impl Schedules {
    pub fn new(db: DatabaseConnection, settings: &ScheduleSettings) -> Self {
        Self {
            db,
            settings: settings.clone(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// The runner that works this store's rows; it shares the wake-up.
    pub fn runner(&self, pipeline: Arc<crate::pipeline::Pipeline>) -> ScheduleRunner {
        ScheduleRunner::new(self.db.clone(), pipeline, self.wake.clone(), &self.settings)
    }

    pub fn timing(
        &self,
        send_at: Option<&str>,
        delay: Option<&str>,
    ) -> Result<SendTiming, ScheduleError> {
        Ok(SendTiming::parse(
            send_at,
            delay,
            Utc::now(),
            self.settings.max_days,
        )?)
    }

    /// Stores the send for `due`; a repeat of its `(user, request_id)` gets
    /// the original row (`true`) and stores nothing. A send without a request
    /// id gets one, so its step can be made exactly-once by the producer's guard.
    pub async fn schedule(
        &self,
        intent: &Intent,
        extras: &InAppExtras,
        due: DateTime<Utc>,
    ) -> Result<(Scheduled, bool), ScheduleError> {
        let request_id = intent
            .request_id
            .clone()
            .unwrap_or_else(|| Uuid::now_v7().to_string());
        let stored = StoredIntent::new(intent, extras, &request_id);
        let json = serde_json::to_string(&stored)
            .map_err(|e| StoreError::Corrupt(format!("scheduled intent: {e}")))?;
        let (row, existed) = scheduled::insert(
            &self.db,
            NewScheduled {
                user: intent.user.clone(),
                request_id,
                intent: json,
                due_at: due,
            },
        )
        .await?;
        // A loop asleep for a whole poll interval would send this one late.
        if !existed
            && due <= Utc::now() + chrono::Duration::from_std(POLL_INTERVAL).unwrap_or_default()
        {
            self.wake.notify_one();
        }
        Ok((Scheduled::from_model(row)?, existed))
    }

    pub async fn pending(&self, user: &UserId) -> Result<Vec<Scheduled>, ScheduleError> {
        scheduled::pending_for(&self.db, user, self.settings.list_limit)
            .await?
            .into_iter()
            .map(|m| Scheduled::from_model(m).map_err(ScheduleError::from))
            .collect()
    }

    /// Cancels a pending send. Cancelling one already cancelled answers as
    /// the first cancel did; one that is sending, sent or failed is too late.
    pub async fn cancel(&self, target: Target) -> Result<Scheduled, ScheduleError> {
        let row = match &target {
            Target::Request { user, request_id } => {
                scheduled::by_request(&self.db, user, request_id).await?
            }
            Target::Id(id) => scheduled::by_id(&self.db, *id).await?,
        }
        .ok_or(ScheduleError::NotFound)?;
        let id = row.id;
        // The guarded UPDATE decides a race with the step; the read after it reports.
        scheduled::cancel(&self.db, id).await?;
        let now = scheduled::by_id(&self.db, id)
            .await?
            .ok_or(ScheduleError::NotFound)?;
        let now = Scheduled::from_model(now)?;
        match now.status {
            ScheduleStatus::Cancelled => Ok(now),
            other => Err(ScheduleError::TooLate(other)),
        }
    }
}
