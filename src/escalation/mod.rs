//! Escalation: a rule's later steps. When an event's first notification is
//! planned, each later step is stored as a scheduled send in the same unit
//! (so it commits with the notification, or not at all) carrying a
//! [`Watch`] on that notification. The schedule runner checks the watch at
//! the step's due time: still unread, the step runs through the one
//! producer with its own derived request id (at most once); handled, the
//! step ends as skipped. Each finished step is appended to the event's audit.

use crate::domain::{Escalation, StepDecision, StepReason, UserId, WatchedState};
use crate::persistence::scheduled::NewScheduled;
use crate::persistence::StoreError;
use crate::producer::{InAppExtras, Intent, ProducerError};
use crate::schedule::StoredIntent;
use chrono::{DateTime, Utc};
use entity::notifications as n;
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// What a later step watches: the event's first notification, found by the
/// request id the escalation gave it, and where to record the step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    pub notification_request: String,
    pub event_id: String,
    /// 1 for the first later step (the rule's own channels are step 0).
    pub step: u32,
    /// The user had no open session when the first notification was made,
    /// so this step was due at once.
    #[serde(default)]
    pub offline: bool,
}

/// Whether `user` has no open session on any node. A presence that cannot
/// answer (Redis down) counts as online: the steps keep their delays rather
/// than reach a user who may be reading the notification right now.
pub async fn offline(presence: Option<&dyn crate::bus::Presence>, user: &UserId) -> bool {
    let Some(presence) = presence else {
        return false;
    };
    match presence.lookup(user).await {
        Ok(view) => !view.online,
        Err(e) => {
            tracing::warn!(error = %e, "presence lookup failed; the escalation keeps its delays");
            false
        }
    }
}

/// The request id of step `step` of a rule's escalation for an event: the
/// same event, rule and step always give the same one. Hashed, because an
/// event id alone may be as long as a request id may be.
fn request_id(rule: Option<uuid::Uuid>, event_id: &str, step: u32) -> String {
    let mut h = Sha256::new();
    h.update(rule.map(|r| r.to_string()).unwrap_or_default());
    h.update([0]);
    h.update(event_id);
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("escalation:{hex}:{step}")
}

/// The escalation of one matched rule: its first intent (now carrying the
/// request id the steps watch) and, once planned, the rows of the later steps.
pub struct Ladder {
    rows: Vec<NewScheduled>,
    shown: Vec<Value>,
}

impl Ladder {
    /// Gives `intent` its watched request id and prepares every later step,
    /// each due `after` from `now`; for an `offline` user the first one is due at once.
    pub fn prepare(
        mut intent: Intent,
        escalation: &Escalation,
        event_id: &str,
        now: DateTime<Utc>,
        offline: bool,
    ) -> Result<(Intent, Self), ProducerError> {
        let watched = request_id(intent.rule_id, event_id, 0);
        intent.request_id = Some(watched.clone());
        let mut rows = vec![];
        let mut shown = vec![];
        for (i, step) in escalation.steps().iter().enumerate() {
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let rid = request_id(intent.rule_id, event_id, n);
            let mut later = intent.clone();
            later.channels = step.channels().to_vec();
            later.request_id = Some(rid.clone());
            let at_once = offline && n == 1;
            let watch = Watch {
                notification_request: watched.clone(),
                event_id: event_id.to_string(),
                step: n,
                offline: at_once,
            };
            let stored = StoredIntent::new(&later, &InAppExtras::default(), &rid).watching(watch);
            let text = serde_json::to_string(&stored)
                .map_err(|e| ProducerError::Content(e.to_string()))?;
            let due_at = if at_once {
                now
            } else {
                now + step.after().to_chrono()
            };
            let channels: Vec<&str> = step.channels().iter().map(|c| c.as_str()).collect();
            shown.push(
                json!({"step": n, "after": step.after().to_string(), "due_at": due_at,
                "offline": at_once, "channels": channels}),
            );
            rows.push(NewScheduled {
                user: intent.user.clone(),
                request_id: rid,
                intent: text,
                due_at,
            });
        }
        Ok((intent, Self { rows, shown }))
    }

    /// The rows to store in the unit and what the event's audit shows of them.
    pub fn into_parts(self) -> (Vec<NewScheduled>, Value) {
        (self.rows, Value::Array(self.shown))
    }
}

/// Where the watched notification is now.
pub async fn watched_state(
    db: &impl ConnectionTrait,
    user: &UserId,
    watch: &Watch,
) -> Result<WatchedState, StoreError> {
    let row = n::Entity::find()
        .filter(n::Column::UserId.eq(user.as_str()))
        .filter(n::Column::RequestId.eq(watch.notification_request.as_str()))
        .one(db)
        .await?;
    Ok(match row {
        None => WatchedState::Missing,
        Some(m) if m.deleted_at.is_some() => WatchedState::Deleted,
        Some(m) if m.archived_at.is_some() => WatchedState::Archived,
        Some(m) if m.read_at.is_some() => WatchedState::Read,
        Some(_) => WatchedState::Unread,
    })
}

/// The decision for a due step.
pub async fn decide(
    db: &impl ConnectionTrait,
    user: &UserId,
    watch: &Watch,
) -> Result<StepDecision, StoreError> {
    Ok(StepDecision::at_due(watched_state(db, user, watch).await?))
}

/// How a step ended, as the event's audit shows it.
pub enum StepEnd {
    Ran { notification_id: Option<uuid::Uuid> },
    Cancelled(StepReason),
}

/// Appends a finished step to its event's audit (`rules[].escalation_steps`
/// would tie it to one rule; a flat `escalation` list keeps every step of the
/// event in the order they finished).
pub async fn record(
    db: &impl ConnectionTrait,
    watch: &Watch,
    end: &StepEnd,
) -> Result<(), StoreError> {
    let entry = match end {
        StepEnd::Ran { notification_id } => {
            let reason = if watch.offline { "offline" } else { "unread" };
            json!({"step": watch.step, "status": "ran", "reason": reason, "notification_id": notification_id, "at": Utc::now()})
        }
        StepEnd::Cancelled(reason) => {
            json!({"step": watch.step, "status": "cancelled", "reason": reason, "at": Utc::now()})
        }
    };
    // One statement appends, so two steps finishing at once on any node both
    // land, and no read-then-write transaction meets SQLite's lock upgrade.
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => {
            "UPDATE events SET outcome = jsonb_set(outcome::jsonb, '{escalation}', \
             COALESCE(outcome::jsonb -> 'escalation', '[]'::jsonb) || jsonb_build_array($1::jsonb))::text \
             WHERE event_id = $2"
        }
        _ => {
            "UPDATE events SET outcome = json_set(outcome, '$.escalation', \
             json_insert(COALESCE(json_extract(outcome, '$.escalation'), json('[]')), '$[#]', json(?1))) \
             WHERE event_id = ?2"
        }
    };
    // An event retention removed updates nothing: there is nowhere left to show the step.
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        sql,
        [entry.to_string().into(), watch.event_id.clone().into()],
    ))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, Channel, Priority};
    use crate::producer::Content;
    use crate::schedule::ScheduleStatus;

    fn intent() -> Intent {
        Intent {
            user: UserId::parse("u-1").unwrap(),
            channels: vec![Channel::InApp],
            category: Category::parse("alerts").unwrap(),
            priority: Priority::High,
            content: Content::Template {
                code: "alarm".into(),
                vars: json!({}),
                data: json!({}),
                in_app_overrides: (None, None, None),
            },
            rule_id: Some(uuid::Uuid::now_v7()),
            request_id: None,
            email: None,
            phone: None,
        }
    }

    fn ladder(offline: bool) -> (Intent, Vec<NewScheduled>, DateTime<Utc>) {
        let esc = Escalation::parse(Some(&json!([
            {"after": "10m", "channels": ["push"]}, {"after": "1h", "channels": ["email"]}
        ])))
        .unwrap()
        .unwrap();
        let now = Utc::now();
        let (first, ladder) = Ladder::prepare(intent(), &esc, "evt-1", now, offline).unwrap();
        (first, ladder.into_parts().0, now)
    }

    #[test]
    fn each_later_step_is_due_after_its_delay_and_watches_the_first_notification() {
        let (first, rows, now) = ladder(false);
        let watched = first.request_id.clone().unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].due_at, now + chrono::Duration::minutes(10));
        assert_eq!(rows[1].due_at, now + chrono::Duration::hours(1));
        let stored: StoredIntent = serde_json::from_str(&rows[0].intent).unwrap();
        let watch = stored.watch().cloned().unwrap();
        assert_eq!(watch.notification_request, watched);
        assert_eq!((watch.step, watch.offline), (1, false));
        let (later, _) = stored.into_intent().unwrap();
        assert_eq!(later.channels, vec![Channel::Push]);
        assert_eq!(
            later.request_id.as_deref(),
            Some(rows[0].request_id.as_str())
        );
    }

    #[test]
    fn an_offline_user_gets_the_first_later_step_at_once() {
        let (_, rows, now) = ladder(true);
        assert_eq!(rows[0].due_at, now);
        assert_eq!(rows[1].due_at, now + chrono::Duration::hours(1));
        let stored: StoredIntent = serde_json::from_str(&rows[0].intent).unwrap();
        assert!(stored.watch().is_some_and(|w| w.offline));
    }

    #[test]
    fn a_skipped_step_is_final_and_only_a_claimed_one_is_skipped() {
        assert!(ScheduleStatus::Sending.can_move_to(ScheduleStatus::Skipped));
        assert!(!ScheduleStatus::Pending.can_move_to(ScheduleStatus::Skipped));
        assert!(ScheduleStatus::Skipped.is_final());
        assert_eq!(
            ScheduleStatus::parse("skipped"),
            Some(ScheduleStatus::Skipped)
        );
    }

    #[test]
    fn every_step_of_an_event_has_its_own_stable_request_id() {
        let rule = Some(uuid::Uuid::now_v7());
        let long = "e".repeat(255);
        assert_eq!(request_id(rule, &long, 1), request_id(rule, &long, 1));
        assert_ne!(request_id(rule, &long, 1), request_id(rule, &long, 2));
        assert_ne!(request_id(rule, "a", 1), request_id(rule, "b", 1));
        assert!(request_id(rule, &long, 5).len() <= 255);
    }
}
