use super::{parse_json, users, StoreError, StoreResult};
use crate::domain::{PreferenceDocument, PreferencePatch, UserId};
use chrono::Utc;
use entity::preferences;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    QuerySelect, RuntimeErr, TransactionTrait,
};
use serde_json::{json, Value};
use std::time::Duration;

/// Tries of one read-modify-write before contention is reported as an error.
const UPDATE_TRIES: u32 = 5;

/// The user's preferences; defaults (everything on) when none are stored.
pub async fn get(db: &impl ConnectionTrait, user: &UserId) -> StoreResult<PreferenceDocument> {
    let Some(row) = preferences::Entity::find_by_id(user.as_str().to_string())
        .one(db)
        .await?
    else {
        return Ok(PreferenceDocument::default());
    };
    from_row(&row)
}

/// Parses a stored row.
pub fn from_row(row: &preferences::Model) -> StoreResult<PreferenceDocument> {
    let quiet = match (
        &row.quiet_hours_start,
        &row.quiet_hours_end,
        &row.quiet_hours_timezone,
    ) {
        (Some(s), Some(e), Some(tz)) => json!({"start": s, "end": e, "timezone": tz}),
        _ => Value::Null,
    };
    let stored = json!({
        "channels": parse_json("channels", &row.channels)?,
        "categories": parse_json("categories", &row.categories)?,
        "quiet_hours": quiet,
        "digest": row.digest.as_deref().map(|d| parse_json("digest", d)).transpose()?.unwrap_or_else(|| json!({})),
    });
    let patch = PreferencePatch::parse(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut doc = PreferenceDocument::default();
    doc.apply(patch);
    Ok(doc)
}

fn active(user: &UserId, doc: &PreferenceDocument) -> preferences::ActiveModel {
    let channels: serde_json::Map<String, Value> = doc
        .channels
        .iter()
        .map(|(c, on)| (c.as_str().to_string(), Value::Bool(*on)))
        .collect();
    let categories: serde_json::Map<String, Value> = doc
        .categories
        .iter()
        .map(|(cat, sw)| (cat.as_str().to_string(), crate::domain::switches_value(sw)))
        .collect();
    let q = doc.quiet_hours.as_ref();
    preferences::ActiveModel {
        user_id: Set(user.as_str().to_string()),
        channels: Set(Value::Object(channels).to_string()),
        categories: Set(Value::Object(categories).to_string()),
        quiet_hours_start: Set(q.map(|q| q.start())),
        quiet_hours_end: Set(q.map(|q| q.end())),
        quiet_hours_timezone: Set(q.map(|q| q.timezone().to_string())),
        digest: Set(
            (!doc.digest.is_empty()).then(|| crate::domain::digest_value(&doc.digest).to_string())
        ),
        updated_at: Set(Utc::now()),
    }
}

/// Replaces the stored document in one statement (an upsert), so it needs no
/// transaction: the user row must exist (see [`users::ensure`]).
pub async fn save(
    db: &impl ConnectionTrait,
    user: &UserId,
    doc: &PreferenceDocument,
) -> StoreResult<()> {
    use preferences::Column as C;
    preferences::Entity::insert(active(user, doc))
        .on_conflict(
            OnConflict::column(C::UserId)
                .update_columns([
                    C::Channels,
                    C::Categories,
                    C::QuietHoursStart,
                    C::QuietHoursEnd,
                    C::QuietHoursTimezone,
                    C::Digest,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Read-modify-write of a user's preferences in ONE transaction, so two
/// concurrent changes (PATCHes, an unsubscribe) cannot lose each other's opt-outs.
/// Creates the user and a default row when missing. `change` may run more than
/// once: a try that meets contention is rolled back and retried.
pub async fn update<F>(
    db: &DatabaseConnection,
    user: &UserId,
    mut change: F,
) -> StoreResult<PreferenceDocument>
where
    F: FnMut(&mut PreferenceDocument),
{
    let mut tries = 0;
    loop {
        tries += 1;
        match update_once(db, user, &mut change).await {
            Err(StoreError::Db(e)) if tries < UPDATE_TRIES && is_contention(&e) => {
                tracing::debug!(error = %e, tries, "preference update met contention; retrying");
                tokio::time::sleep(Duration::from_millis(5 << tries)).await;
            }
            other => return other,
        }
    }
}

async fn update_once<F>(
    db: &DatabaseConnection,
    user: &UserId,
    change: &mut F,
) -> StoreResult<PreferenceDocument>
where
    F: FnMut(&mut PreferenceDocument),
{
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let txn = db.begin().await?;
    // Write first: a SQLite transaction that reads before it writes can fail
    // to upgrade its lock (SQLITE_BUSY_SNAPSHOT, with no busy wait), while one
    // that starts by writing simply queues for the write lock.
    users::ensure(&txn, user).await?;
    preferences::Entity::insert(active(user, &PreferenceDocument::default()))
        .on_conflict_do_nothing_on([preferences::Column::UserId])
        .exec_without_returning(&txn)
        .await?;
    let mut query = preferences::Entity::find_by_id(user.as_str().to_string());
    if postgres {
        // READ COMMITTED: the row lock makes a concurrent change wait for ours.
        query = query.lock_exclusive();
    }
    let mut doc = match query.one(&txn).await? {
        Some(row) => from_row(&row)?,
        None => PreferenceDocument::default(),
    };
    change(&mut doc);
    save(&txn, user, &doc).await?;
    txn.commit().await?;
    Ok(doc)
}

/// A failure that a retry of the whole transaction can cure: PostgreSQL
/// serialization failure or deadlock, SQLite busy or locked.
pub(crate) fn is_contention(e: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(e))
    | DbErr::Query(RuntimeErr::SqlxError(e))
    | DbErr::Conn(RuntimeErr::SqlxError(e))) = e
    else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(d) = e.as_ref() else {
        return false;
    };
    matches!(
        d.code().as_deref(),
        Some("40001" | "40P01" | "5" | "261" | "517" | "6" | "262")
    )
}
