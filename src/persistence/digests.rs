//! Digest buckets: the fold (inside the event's own transaction), the fenced
//! claim of due buckets, and the flush's audit and cleanup.

use super::writer::{Guard, Unit};
use super::{parse_json, StoreError, StoreResult};
use crate::domain::{Category, Channel, Email, PhoneNumber, Priority, UserId};
use chrono::{DateTime, Utc};
use entity::{digest_buckets as b, digest_items as i, events as e};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
    TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// What a flushed digest is sent as: the rule's settings when its first event arrived.
#[derive(Clone, Debug, PartialEq)]
pub struct FlushPlan {
    pub template_code: String,
    pub channels: Vec<Channel>,
    pub category: Category,
    pub priority: Priority,
    pub email: Option<Email>,
    pub phone: Option<PhoneNumber>,
}

impl FlushPlan {
    fn to_json(&self) -> Value {
        json!({
            "template_code": self.template_code,
            "channels": self.channels.iter().map(Channel::as_str).collect::<Vec<_>>(),
            "category": self.category.as_str(), "priority": self.priority.as_str(),
            "email": self.email.as_ref().map(Email::as_str),
            "phone": self.phone.as_ref().map(PhoneNumber::as_str),
        })
    }

    fn parse(v: &Value) -> Option<Self> {
        let s = |k: &str| v.get(k).and_then(Value::as_str);
        Some(Self {
            template_code: s("template_code")?.to_string(),
            channels: v
                .get("channels")?
                .as_array()?
                .iter()
                .map(|c| c.as_str().and_then(|c| Channel::parse(c).ok()))
                .collect::<Option<_>>()?,
            category: Category::parse(s("category")?).ok()?,
            priority: Priority::from_stored(s("priority")?),
            email: s("email").and_then(|e| Email::parse(e).ok()),
            phone: s("phone").and_then(|p| PhoneNumber::parse(p).ok()),
        })
    }
}

/// One event folded into the open bucket of (user, rule, key); the bucket is
/// opened with `due_at` when this is its first event.
#[derive(Clone, Debug)]
pub struct DigestFold {
    pub user: UserId,
    pub rule_id: Uuid,
    pub key: String,
    pub due_at: DateTime<Utc>,
    pub max_items: u32,
    pub event_id: String,
    pub payload: Value,
    pub plan: FlushPlan,
    /// Why the event was digested, for its audit (`digest`, or the throttle's reason).
    pub reason: String,
}

fn open_key(f: &DigestFold) -> String {
    json!([f.rule_id, f.user.as_str(), f.key]).to_string()
}

/// Finds the open bucket, locked on PostgreSQL so a flush cannot claim it
/// while this transaction adds to it.
async fn open_bucket(txn: &DatabaseTransaction, key: &str) -> StoreResult<Option<b::Model>> {
    let mut q = b::Entity::find().filter(b::Column::OpenKey.eq(key));
    if txn.get_database_backend() == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    Ok(q.one(txn).await?)
}

/// Folds every unit's digests inside the batch's transaction and records, in
/// each event's audit, which bucket took it. A bucket at its `max_items`
/// closes and is due at once.
pub async fn fold_units(
    txn: &DatabaseTransaction,
    units: &[&Unit],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    for u in units.iter().filter(|u| !u.digests.is_empty()) {
        let mut audit = vec![];
        for f in &u.digests {
            audit.push(fold(txn, f, now).await?);
        }
        if let Some(Guard::Event(ev)) = &u.guard {
            let mut outcome = ev.outcome.clone();
            if let Some(o) = outcome.as_object_mut() {
                o.insert("digests".into(), Value::Array(audit));
            }
            e::Entity::update_many()
                .col_expr(
                    e::Column::Outcome,
                    sea_orm::sea_query::Expr::value(outcome.to_string()),
                )
                .filter(e::Column::EventId.eq(ev.event_id.clone()))
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}

async fn fold(txn: &DatabaseTransaction, f: &DigestFold, now: DateTime<Utc>) -> StoreResult<Value> {
    let key = open_key(f);
    let mut bucket = None;
    // A flush may close the bucket between the insert and the read: then open another.
    for _ in 0..3 {
        b::Entity::insert(b::ActiveModel {
            id: Set(Uuid::now_v7()),
            open_key: Set(Some(key.clone())),
            user_id: Set(f.user.as_str().to_string()),
            rule_id: Set(f.rule_id),
            digest_key: Set(f.key.clone()),
            due_at: Set(f.due_at),
            items: Set(0),
            plan: Set(f.plan.to_json().to_string()),
            lease_token: Set(None),
            lease_until: Set(None),
            created_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(b::Column::OpenKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
        bucket = open_bucket(txn, &key).await?;
        if bucket.is_some() {
            break;
        }
    }
    let bucket = bucket.ok_or_else(|| StoreError::Corrupt("no open digest bucket".into()))?;
    let position = bucket.items + 1;
    i::ActiveModel {
        id: Set(Uuid::now_v7()),
        bucket_id: Set(bucket.id),
        position: Set(position),
        event_id: Set(f.event_id.clone()),
        payload: Set(f.payload.to_string()),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    let full = u32::try_from(position).unwrap_or(u32::MAX) >= f.max_items;
    let mut am: b::ActiveModel = bucket.clone().into();
    am.items = Set(position);
    if full {
        am.open_key = Set(None);
        am.due_at = Set(now.min(bucket.due_at));
    }
    am.update(txn).await?;
    Ok(json!({
        "rule_id": f.rule_id, "bucket": bucket.id, "key": f.key, "position": position,
        "due_at": if full { now.min(bucket.due_at) } else { bucket.due_at },
        "reason": f.reason, "full": full,
    }))
}

/// A claimed bucket with its items, oldest first.
#[derive(Debug)]
pub struct Claimed {
    pub id: Uuid,
    pub user: UserId,
    pub rule_id: Uuid,
    pub key: String,
    pub lease: Uuid,
    /// `None` when the stored plan no longer parses.
    pub plan: Option<FlushPlan>,
    pub items: Vec<(String, Value)>,
}

/// Claims up to `limit` due buckets with a fresh lease token (PostgreSQL:
/// `FOR UPDATE SKIP LOCKED`), closing them to new items. A bucket whose
/// lease ran out (its flusher died) is claimed again.
pub async fn claim_due(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_for: chrono::Duration,
    limit: u64,
) -> StoreResult<Vec<Claimed>> {
    let backend = db.get_database_backend();
    let pg = backend == DbBackend::Postgres;
    let token = Uuid::now_v7();
    let p = |n: usize| if pg { format!("${n}") } else { "?".into() };
    let sql = format!(
        "UPDATE digest_buckets SET open_key = NULL, lease_token = {}, lease_until = {}
         WHERE id IN (SELECT id FROM digest_buckets
                      WHERE due_at <= {} AND (lease_until IS NULL OR lease_until <= {})
                      ORDER BY due_at LIMIT {}{})
         RETURNING *",
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        if pg { " FOR UPDATE SKIP LOCKED" } else { "" }
    );
    let values: Vec<sea_orm::Value> = vec![
        token.into(),
        (now + lease_for).into(),
        now.into(),
        now.into(),
        (limit as i64).into(),
    ];
    let rows = b::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for m in rows {
        let items = i::Entity::find()
            .filter(i::Column::BucketId.eq(m.id))
            .order_by_asc(i::Column::Position)
            .all(db)
            .await?
            .into_iter()
            .map(|it| Ok((it.event_id, parse_json("digest item", &it.payload)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        out.push(Claimed {
            id: m.id,
            user: UserId::parse(m.user_id.clone())
                .map_err(|e| StoreError::Corrupt(format!("digest bucket {}: {e}", m.id)))?,
            rule_id: m.rule_id,
            key: m.digest_key.clone(),
            lease: token,
            plan: parse_json("digest plan", &m.plan)
                .ok()
                .as_ref()
                .and_then(FlushPlan::parse),
            items,
        });
    }
    Ok(out)
}

/// Records the flush in every folded event's audit and removes the bucket,
/// in one transaction, only while `lease` still holds it. False: another
/// flusher took the bucket over and finishes it.
pub async fn finish(db: &DatabaseConnection, bucket: &Claimed, flush: Value) -> StoreResult<bool> {
    let txn = db.begin().await?;
    let gone = b::Entity::delete_many()
        .filter(b::Column::Id.eq(bucket.id))
        .filter(b::Column::LeaseToken.eq(bucket.lease))
        .exec(&txn)
        .await?
        .rows_affected
        == 0;
    if gone {
        return Ok(false);
    }
    i::Entity::delete_many()
        .filter(i::Column::BucketId.eq(bucket.id))
        .exec(&txn)
        .await?;
    for (event_id, _) in &bucket.items {
        let Some(ev) = e::Entity::find_by_id(event_id.clone()).one(&txn).await? else {
            continue;
        };
        let mut outcome = parse_json("event outcome", &ev.outcome)?;
        if let Some(o) = outcome.as_object_mut() {
            let flushes = o.entry("digest_flushes").or_insert_with(|| json!([]));
            if let Some(list) = flushes.as_array_mut() {
                list.push(flush.clone());
            }
        }
        let mut am: e::ActiveModel = ev.into();
        am.outcome = Set(outcome.to_string());
        am.update(&txn).await?;
    }
    txn.commit().await?;
    Ok(true)
}

/// What a throttle counts.
pub enum Counted<'a> {
    Rule(Uuid),
    Category(&'a Category),
}

/// Notifications a user got since `since` from a rule or in a category, counted
/// from committed deliveries: one per event or request, whatever its channels.
pub async fn sent_since(
    db: &impl ConnectionTrait,
    user: &UserId,
    what: Counted<'_>,
    since: DateTime<Utc>,
) -> StoreResult<u64> {
    let backend = db.get_database_backend();
    let pg = backend == DbBackend::Postgres;
    let (p1, p2, p3) = if pg {
        ("$1", "$2", "$3")
    } else {
        ("?", "?", "?")
    };
    let (column, value): (&str, sea_orm::Value) = match what {
        Counted::Rule(id) => ("rule_id", id.into()),
        Counted::Category(c) => ("category", c.as_str().into()),
    };
    let sql = format!(
        "SELECT COUNT(DISTINCT COALESCE(event_id, request_id)) AS n FROM deliveries
         WHERE user_id = {p1} AND {column} = {p2} AND created_at >= {p3}"
    );
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [user.as_str().into(), value, since.into()],
        ))
        .await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Removes a user's open digests (part of erasing them).
pub async fn erase_user(txn: &DatabaseTransaction, user: &str) -> StoreResult<()> {
    let theirs = sea_orm::sea_query::Query::select()
        .column(b::Column::Id)
        .from(b::Entity)
        .and_where(b::Column::UserId.eq(user))
        .to_owned();
    i::Entity::delete_many()
        .filter(i::Column::BucketId.in_subquery(theirs))
        .exec(txn)
        .await?;
    b::Entity::delete_many()
        .filter(b::Column::UserId.eq(user))
        .exec(txn)
        .await?;
    Ok(())
}
