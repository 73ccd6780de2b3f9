use super::{parse_json, StoreError, StoreResult};
use crate::domain::{PreferenceDocument, PreferencePatch, UserId};
use chrono::Utc;
use entity::preferences;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::{json, Value};

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
    });
    let patch = PreferencePatch::parse(&stored).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut doc = PreferenceDocument::default();
    doc.apply(patch);
    Ok(doc)
}

pub async fn save(
    db: &impl ConnectionTrait,
    user: &UserId,
    doc: &PreferenceDocument,
) -> StoreResult<()> {
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
    let am = preferences::ActiveModel {
        user_id: Set(user.as_str().to_string()),
        channels: Set(Value::Object(channels).to_string()),
        categories: Set(Value::Object(categories).to_string()),
        quiet_hours_start: Set(q.map(|q| q.start())),
        quiet_hours_end: Set(q.map(|q| q.end())),
        quiet_hours_timezone: Set(q.map(|q| q.timezone().to_string())),
        updated_at: Set(Utc::now()),
    };
    use preferences::Column as C;
    preferences::Entity::insert(am)
        .on_conflict(
            OnConflict::column(C::UserId)
                .update_columns([
                    C::Channels,
                    C::Categories,
                    C::QuietHoursStart,
                    C::QuietHoursEnd,
                    C::QuietHoursTimezone,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
