//! One batch of units, one transaction.

use super::{rows, Guard, StoreError, StoreResult, Unit, UnitResult};
use crate::domain::NotificationId;
use crate::persistence::notifications::Inserted;
use crate::persistence::send_requests;
use chrono::Utc;
use entity::notifications as n;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, TransactionTrait};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Units whose guard is already stored, or repeats one earlier in the batch.
async fn duplicates(db: &DatabaseConnection, units: &[&Unit]) -> StoreResult<Vec<bool>> {
    let event_ids: Vec<String> = units
        .iter()
        .filter_map(|u| match &u.guard {
            Some(Guard::Event(e)) => Some(e.event_id.clone()),
            _ => None,
        })
        .collect();
    let seen_events: HashSet<String> = if event_ids.is_empty() {
        HashSet::new()
    } else {
        entity::events::Entity::find()
            .filter(entity::events::Column::EventId.is_in(event_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| m.event_id)
            .collect()
    };
    let request_keys: Vec<(&str, &str)> = units
        .iter()
        .filter_map(|u| match &u.guard {
            Some(Guard::Request(r)) => Some((r.user.as_str(), r.request_id.as_str())),
            _ => None,
        })
        .collect();
    let seen_requests = send_requests::existing(db, &request_keys).await?;
    let (mut batch_events, mut batch_requests) = (HashSet::new(), HashSet::new());
    Ok(units
        .iter()
        .map(|u| match &u.guard {
            None => false,
            Some(Guard::Event(e)) => {
                seen_events.contains(&e.event_id) || !batch_events.insert(e.event_id.as_str())
            }
            Some(Guard::Request(r)) => {
                let key = (r.user.as_str().to_string(), r.request_id.clone());
                seen_requests.contains(&key) || !batch_requests.insert(key)
            }
        })
        .collect())
}

pub async fn write_batch(db: &DatabaseConnection, units: &[&Unit]) -> StoreResult<Vec<UnitResult>> {
    write_batch_with(db, units, Path::Fastest).await
}

/// Which way a batch is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// One statement on PostgreSQL when the batch allows it (`one_statement`).
    Fastest,
    /// The transaction of sea-orm statements, which every batch can take.
    General,
}

async fn write_batch_with(
    db: &DatabaseConnection,
    units: &[&Unit],
    path: Path,
) -> StoreResult<Vec<UnitResult>> {
    let duplicate = duplicates(db, units).await?;
    let live: Vec<&Unit> = units
        .iter()
        .zip(&duplicate)
        .filter(|(_, dup)| !**dup)
        .map(|(u, _)| *u)
        .collect();
    let mut written: Vec<UnitResult> = Vec::with_capacity(live.len());
    let has_work = live
        .iter()
        .any(|u| u.guard.is_some() || !u.notifications.is_empty() || !u.deliveries.is_empty());
    if has_work && path == Path::Fastest && super::one_statement::applies(db, &live) {
        written = super::one_statement::write(db, &live).await?;
    } else if has_work {
        written = write_live(db, &live).await?;
    } else {
        written.extend(live.iter().map(|_| UnitResult::Written {
            notifications: vec![],
            deliveries: vec![],
        }));
    }
    let mut written = written.into_iter();
    duplicate
        .iter()
        .map(|dup| match dup {
            true => Ok(UnitResult::Duplicate),
            false => written
                .next()
                .ok_or_else(|| StoreError::Corrupt("batch left a unit unanswered".into())),
        })
        .collect()
}

/// How many notifications each user gets in this batch. Everyone something
/// is written for gets a user row (count 0), so erasing them finds their
/// deliveries and guards too. Sorted by id: batches lock users in one order.
pub(super) fn seq_counts<'a>(units: &[&'a Unit]) -> BTreeMap<&'a str, i64> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for u in units {
        if let Some(Guard::Request(r)) = &u.guard {
            counts.entry(r.user.as_str()).or_default();
        }
        for d in &u.deliveries {
            if let Some(user) = &d.user {
                counts.entry(user.as_str()).or_default();
            }
        }
        for n in &u.notifications {
            *counts.entry(n.user_id.as_str()).or_default() += 1;
        }
    }
    counts
}

/// Writes units known not to be duplicates (another node may still win a race:
/// then a unique violation fails the whole batch and the caller isolates it).
async fn write_live(db: &DatabaseConnection, units: &[&Unit]) -> StoreResult<Vec<UnitResult>> {
    let now = Utc::now();
    let txn = db.begin().await?;
    // 1. Users and seqs first: on SQLite the transaction takes the write lock at once.
    let counts = seq_counts(units);
    let mut next: HashMap<String, i64> = HashMap::with_capacity(counts.len());
    if !counts.is_empty() {
        let lasts = rows::bump_seqs(&txn, &counts).await?;
        // Seqs were handed out as (last - count, last]; give them in arrival order.
        for (user, k) in &counts {
            let last = lasts
                .get(*user)
                .ok_or_else(|| StoreError::Corrupt(format!("no seq for {user}")))?;
            next.insert(user.to_string(), last - k + 1);
        }
    }
    // 2. Notifications.
    let mut inserted: Vec<Vec<Inserted>> = Vec::with_capacity(units.len());
    let mut models = vec![];
    for u in units {
        let mut mine = Vec::with_capacity(u.notifications.len());
        for new in &u.notifications {
            let seq = next
                .get_mut(new.user_id.as_str())
                .ok_or_else(|| StoreError::Corrupt("seq".into()))?;
            let v = rows::view(new, NotificationId::new().as_uuid(), *seq, now);
            *seq += 1;
            models.push(rows::notification(new, &v));
            mine.push(Inserted {
                view: v,
                created: true,
            });
        }
        inserted.push(mine);
    }
    if !models.is_empty() {
        n::Entity::insert_many(models)
            .exec_without_returning(&txn)
            .await?;
    }
    // 3. Guards: a repeat that raced past the check above fails here, atomically.
    let mut events = vec![];
    let mut requests = vec![];
    for (u, mine) in units.iter().zip(&inserted) {
        match &u.guard {
            Some(Guard::Event(ev)) => events.push(rows::event(ev, u, now)),
            Some(Guard::Request(r)) => {
                requests.push(rows::request(r, mine.first().map(|i| i.view.id), now)?)
            }
            None => {}
        }
    }
    if !events.is_empty() {
        entity::events::Entity::insert_many(events)
            .exec_without_returning(&txn)
            .await?;
    }
    if !requests.is_empty() {
        entity::send_requests::Entity::insert_many(requests)
            .exec_without_returning(&txn)
            .await?;
    }
    // 3b. Digest folds, after the guards: a fold records its bucket in the event's audit row.
    crate::persistence::digests::fold_units(&txn, units, now).await?;
    // 4. Deliveries, linked to their unit's notification when there is one.
    let mut deliveries = vec![];
    let mut delivery_ids = Vec::with_capacity(units.len());
    for (u, mine) in units.iter().zip(&inserted) {
        let mut ids = Vec::with_capacity(u.deliveries.len());
        for d in &u.deliveries {
            let linked = d.notification.and_then(|j| mine.get(j)).map(|i| i.view.id);
            let (id, am) = rows::delivery(d, u, linked, now)?;
            ids.push(id);
            deliveries.push(am);
        }
        delivery_ids.push(ids);
    }
    if !deliveries.is_empty() {
        entity::deliveries::Entity::insert_many(deliveries)
            .exec_without_returning(&txn)
            .await?;
    }
    // 5. Sends due later; a repeat of a (user, request id) keeps the first.
    crate::persistence::scheduled::insert_many(&txn, units.iter().flat_map(|u| &u.scheduled))
        .await?;
    // 6. Topic fan-outs; their runner starts on them only once this commits.
    crate::persistence::topic_fanouts::insert_many(
        &txn,
        units.iter().flat_map(|u| &u.fanouts),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(inserted
        .into_iter()
        .zip(delivery_ids)
        .map(|(notifications, deliveries)| UnitResult::Written {
            notifications,
            deliveries,
        })
        .collect())
}

/// One unit on its own, after its batch failed: by the general path, so a
/// fault of the one-statement path cannot fail it twice.
pub async fn write_alone(db: &DatabaseConnection, unit: &Unit) -> StoreResult<UnitResult> {
    match write_batch_with(db, &[unit], Path::General).await {
        Ok(mut r) => r
            .pop()
            .ok_or_else(|| StoreError::Corrupt("empty batch result".into())),
        Err(StoreError::Db(e)) if crate::persistence::is_unique_violation(&e) => {
            // Another node committed the same event or request id first.
            let committed = match &unit.guard {
                Some(Guard::Event(ev)) => crate::persistence::events::find(db, &ev.event_id)
                    .await?
                    .is_some(),
                Some(Guard::Request(r)) => send_requests::find(db, &r.user, &r.request_id)
                    .await?
                    .is_some(),
                None => false,
            };
            if committed {
                Ok(UnitResult::Duplicate)
            } else {
                Err(StoreError::Db(e))
            }
        }
        Err(e) => Err(e),
    }
}
