use super::{catalog_version, parse_json, StoreError, StoreResult};
use crate::domain::{Category, Channel, EventPattern, Priority, RecipientMap, Rule};
use chrono::Utc;
use entity::rules as r;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

fn to_rule(m: r::Model) -> StoreResult<Rule> {
    let corrupt =
        |e: crate::domain::DomainError| StoreError::Corrupt(format!("rule {}: {e}", m.id));
    let channels: Vec<String> = serde_json::from_value(parse_json("channels", &m.channels)?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Rule {
        id: m.id,
        name: m.name.clone(),
        pattern: EventPattern::parse(&m.event_pattern).map_err(corrupt)?,
        channels: channels
            .iter()
            .map(|c| Channel::parse(c))
            .collect::<Result<_, _>>()
            .map_err(corrupt)?,
        template_code: m.template_code.clone(),
        category: Category::parse(m.category.clone()).map_err(corrupt)?,
        priority: Priority::from_stored(&m.priority),
        recipient: RecipientMap::parse(Some(&parse_json("recipient", &m.recipient)?))
            .map_err(corrupt)?,
        condition: m.condition.clone(),
        enabled: m.enabled,
        delay: m
            .delay
            .as_deref()
            .map(crate::domain::Span::parse)
            .transpose()
            .map_err(corrupt)?,
        digest: crate::domain::DigestSpec::parse(
            m.digest
                .as_deref()
                .map(|t| parse_json("digest", t))
                .transpose()?
                .as_ref(),
        )
        .map_err(corrupt)?,
        throttle: crate::domain::Throttle::parse(
            m.throttle
                .as_deref()
                .map(|t| parse_json("throttle", t))
                .transpose()?
                .as_ref(),
        )
        .map_err(corrupt)?,
        escalation: crate::domain::Escalation::parse(
            m.escalation
                .as_deref()
                .map(|t| parse_json("escalation", t))
                .transpose()?
                .as_ref(),
        )
        .map_err(corrupt)?,
    })
}

fn active(rule: &Rule) -> r::ActiveModel {
    let channels: Vec<&str> = rule.channels.iter().map(Channel::as_str).collect();
    r::ActiveModel {
        id: Set(rule.id),
        name: Set(rule.name.clone()),
        event_pattern: Set(rule.pattern.as_str().to_string()),
        channels: Set(serde_json::json!(channels).to_string()),
        template_code: Set(rule.template_code.clone()),
        category: Set(rule.category.as_str().to_string()),
        priority: Set(rule.priority.as_str().to_string()),
        recipient: Set(rule.recipient.to_json().to_string()),
        condition: Set(rule.condition.clone()),
        enabled: Set(rule.enabled),
        digest: Set(rule.digest.as_ref().map(|d| d.to_json().to_string())),
        throttle: Set(rule.throttle.as_ref().map(|t| t.to_json().to_string())),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        delay: Set(rule.delay.map(|d| d.to_string())),
        escalation: Set(rule.escalation.as_ref().map(|e| e.to_json().to_string())),
    }
}

pub async fn create(db: &impl TransactionTrait, rule: &Rule) -> StoreResult<Rule> {
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let saved = to_rule(active(rule).insert(&txn).await?)?;
    txn.commit().await?;
    Ok(saved)
}

pub async fn update(db: &impl TransactionTrait, rule: &Rule) -> StoreResult<Rule> {
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let existing = r::Entity::find_by_id(rule.id)
        .one(&txn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let mut am = active(rule);
    am.created_at = Set(existing.created_at);
    let saved = to_rule(am.update(&txn).await?)?;
    txn.commit().await?;
    Ok(saved)
}

pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> StoreResult<Option<Rule>> {
    r::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(to_rule)
        .transpose()
}

pub async fn list(db: &impl ConnectionTrait) -> StoreResult<Vec<Rule>> {
    r::Entity::find()
        .order_by_asc(r::Column::CreatedAt)
        .all(db)
        .await?
        .into_iter()
        .map(to_rule)
        .collect()
}

/// Enabled rules; one that no longer parses is skipped and logged.
pub async fn load_enabled(db: &impl ConnectionTrait) -> StoreResult<Vec<Rule>> {
    let rows = r::Entity::find()
        .filter(r::Column::Enabled.eq(true))
        .order_by_asc(r::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|m| {
            to_rule(m)
                .map_err(|e| tracing::warn!(error = %e, "skipping a stored rule"))
                .ok()
        })
        .collect())
}

pub async fn delete(db: &impl TransactionTrait, id: Uuid) -> StoreResult<bool> {
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let deleted = r::Entity::delete_by_id(id).exec(&txn).await?.rows_affected > 0;
    // Nothing deleted, nothing changed: the bump is rolled back with the rest.
    if deleted {
        txn.commit().await?;
    }
    Ok(deleted)
}

/// Finds a rule by name (imports are idempotent by name).
pub async fn find_by_name(db: &impl ConnectionTrait, name: &str) -> StoreResult<Option<Rule>> {
    r::Entity::find()
        .filter(r::Column::Name.eq(name))
        .one(db)
        .await?
        .map(to_rule)
        .transpose()
}
