//! Durable topic fan-outs: one row per send to a topic, with a cursor over
//! its subscribers. A runner claims a row with a fresh lease token, writes one
//! batch, then advances the cursor fenced by that token and gives the lease
//! back; a runner that dies leaves the lease to run out, and the batch is
//! written again by whoever claims next (the per-subscriber guards make the
//! repeat write nothing).

use super::{is_unique_violation, StoreError, StoreResult};
use crate::domain::TopicKey;
use chrono::{DateTime, Utc};
use entity::topic_fanouts as f;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait,
    ExprTrait, QueryFilter, Statement, UpdateMany,
};
use uuid::Uuid;

/// Where a fan-out stands. It moves only forward: running → done | failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanoutStatus {
    Running,
    Done,
    /// Its message could not be planned (a template removed since the send, say).
    Failed,
}

impl FanoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    fn parse(raw: &str) -> StoreResult<Self> {
        match raw {
            "running" => Ok(Self::Running),
            "done" => Ok(Self::Done),
            "failed" => Ok(Self::Failed),
            other => Err(StoreError::Corrupt(format!(
                "topic_fanouts.status '{other}'"
            ))),
        }
    }
}

/// A fan-out row, parsed.
#[derive(Clone, Debug)]
pub struct Fanout {
    pub id: Uuid,
    pub topic: TopicKey,
    pub request_id: Option<String>,
    /// JSON text of what every subscriber is sent (`crate::topics::TopicMessage`).
    pub message: String,
    pub status: FanoutStatus,
    pub cursor: Option<String>,
    pub processed: i64,
    pub notified: i64,
    pub suppressed: i64,
    pub batches: i64,
    pub lease_token: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Fanout {
    fn from_model(m: f::Model) -> StoreResult<Self> {
        Ok(Self {
            id: m.id,
            topic: TopicKey::parse(m.topic_key).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            request_id: m.request_id,
            message: m.message,
            status: FanoutStatus::parse(&m.status)?,
            cursor: m.cursor,
            processed: m.processed,
            notified: m.notified,
            suppressed: m.suppressed,
            batches: m.batches,
            lease_token: m.lease_token,
            created_at: m.created_at,
            finished_at: m.finished_at,
        })
    }

    /// The per-subscriber guard key: `(subscriber, this)` is written once, with
    /// everything the subscriber was sent.
    pub fn guard_key(&self) -> String {
        format!("topic:{}", self.id)
    }
}

/// Records a send to a topic. With a request id, a repeat (concurrent or
/// later, on any node) gets the original fan-out and `true`.
pub async fn create(
    db: &DatabaseConnection,
    topic: &TopicKey,
    request_id: Option<&str>,
    message: String,
) -> StoreResult<(Fanout, bool)> {
    if let Some(found) = by_request(db, topic, request_id).await? {
        return Ok((found, true));
    }
    let row = new_row(
        &NewFanout {
            id: Uuid::now_v7(),
            topic: topic.clone(),
            request_id: request_id.map(str::to_string),
            message,
        },
        Utc::now(),
    );
    match f::Entity::insert(row).exec_with_returning(db).await {
        Ok(m) => Ok((Fanout::from_model(m)?, false)),
        Err(e) if is_unique_violation(&e) => by_request(db, topic, request_id)
            .await?
            .map(|found| (found, true))
            .ok_or_else(|| StoreError::Db(e)),
        Err(e) => Err(e.into()),
    }
}

/// A fan-out recorded with something else in one transaction (an event
/// matching a topic rule records it with the event's guard).
#[derive(Clone, Debug)]
pub struct NewFanout {
    pub id: Uuid,
    pub topic: TopicKey,
    pub request_id: Option<String>,
    /// See [`Fanout::message`].
    pub message: String,
}

fn new_row(n: &NewFanout, now: DateTime<Utc>) -> f::ActiveModel {
    f::ActiveModel {
        id: Set(n.id),
        topic_key: Set(n.topic.as_str().to_string()),
        request_id: Set(n.request_id.clone()),
        message: Set(n.message.clone()),
        status: Set(FanoutStatus::Running.as_str().to_string()),
        cursor: Set(None),
        processed: Set(0),
        notified: Set(0),
        suppressed: Set(0),
        batches: Set(0),
        lease_token: Set(None),
        lease_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    }
}

/// Inserts fan-outs inside the caller's transaction. A repeat of a
/// `(topic, request_id)` fails it: the unit's guard decides what is a repeat.
pub async fn insert_many<'a>(
    txn: &impl ConnectionTrait,
    fanouts: impl IntoIterator<Item = &'a NewFanout>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let rows: Vec<f::ActiveModel> = fanouts.into_iter().map(|n| new_row(n, now)).collect();
    if !rows.is_empty() {
        f::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

async fn by_request(
    db: &impl ConnectionTrait,
    topic: &TopicKey,
    request_id: Option<&str>,
) -> StoreResult<Option<Fanout>> {
    let Some(rid) = request_id else {
        return Ok(None);
    };
    f::Entity::find()
        .filter(f::Column::TopicKey.eq(topic.as_str()))
        .filter(f::Column::RequestId.eq(rid))
        .one(db)
        .await?
        .map(Fanout::from_model)
        .transpose()
}

pub async fn get(
    db: &impl ConnectionTrait,
    topic: &TopicKey,
    id: Uuid,
) -> StoreResult<Option<Fanout>> {
    f::Entity::find_by_id(id)
        .filter(f::Column::TopicKey.eq(topic.as_str()))
        .one(db)
        .await?
        .map(Fanout::from_model)
        .transpose()
}

/// Claims the oldest running fan-out nobody holds (or whose holder's lease
/// ran out) with a fresh token. On PostgreSQL `FOR UPDATE SKIP LOCKED`, so
/// nodes never claim the same row at once.
pub async fn claim(
    db: &DatabaseConnection,
    now: DateTime<Utc>,
    lease_for: chrono::Duration,
) -> StoreResult<Option<Fanout>> {
    let backend = db.get_database_backend();
    let pg = backend == DbBackend::Postgres;
    let p = |i: usize| if pg { format!("${i}") } else { "?".to_string() };
    let sql = format!(
        "UPDATE topic_fanouts SET lease_token = {}, lease_until = {}
         WHERE id IN (SELECT id FROM topic_fanouts
                      WHERE status = 'running' AND (lease_until IS NULL OR lease_until <= {})
                      ORDER BY created_at LIMIT 1{})
         RETURNING *",
        p(1),
        p(2),
        p(3),
        if pg { " FOR UPDATE SKIP LOCKED" } else { "" }
    );
    let values: Vec<sea_orm::Value> =
        vec![Uuid::now_v7().into(), (now + lease_for).into(), now.into()];
    f::Entity::find()
        .from_raw_sql(Statement::from_sql_and_values(backend, sql, values))
        .one(db)
        .await?
        .map(Fanout::from_model)
        .transpose()
}

/// What one committed batch adds to its fan-out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The batch's last subscriber; `None` when the batch was empty.
    pub cursor: Option<String>,
    pub processed: i64,
    pub notified: i64,
    pub suppressed: i64,
    /// No subscriber is left after this batch.
    pub finished: bool,
}

/// Advances the cursor and counts and gives the lease back, only while the
/// lease is still `token`'s. False means another runner took it over (this
/// runner's batch is then a duplicate of theirs, and counted by them).
pub async fn advance(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    p: &Progress,
) -> StoreResult<bool> {
    let now = Utc::now();
    let mut q = f::Entity::update_many()
        .col_expr(
            f::Column::Processed,
            Expr::col(f::Column::Processed).add(p.processed),
        )
        .col_expr(
            f::Column::Notified,
            Expr::col(f::Column::Notified).add(p.notified),
        )
        .col_expr(
            f::Column::Suppressed,
            Expr::col(f::Column::Suppressed).add(p.suppressed),
        )
        .col_expr(f::Column::Batches, Expr::col(f::Column::Batches).add(1));
    q = released(q, now);
    if let Some(cursor) = &p.cursor {
        q = q.col_expr(f::Column::Cursor, Expr::value(cursor.clone()));
    }
    if p.finished {
        q = q
            .col_expr(f::Column::Status, Expr::value(FanoutStatus::Done.as_str()))
            .col_expr(f::Column::FinishedAt, Expr::value(Some(now)));
    }
    fenced(db, q, id, token).await
}

/// Gives the lease back.
fn released(q: UpdateMany<f::Entity>, now: DateTime<Utc>) -> UpdateMany<f::Entity> {
    q.col_expr(f::Column::LeaseToken, Expr::value(Option::<Uuid>::None))
        .col_expr(
            f::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(f::Column::UpdatedAt, Expr::value(now))
}

/// Runs the update only while the fan-out runs and `token` holds its lease.
async fn fenced(
    db: &impl ConnectionTrait,
    q: UpdateMany<f::Entity>,
    id: Uuid,
    token: Uuid,
) -> StoreResult<bool> {
    let res = q
        .filter(f::Column::Id.eq(id))
        .filter(f::Column::LeaseToken.eq(token))
        .filter(f::Column::Status.eq(FanoutStatus::Running.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Ends a fan-out whose message cannot be planned, if the lease is still ours.
pub async fn fail(db: &impl ConnectionTrait, id: Uuid, token: Uuid) -> StoreResult<bool> {
    let now = Utc::now();
    let q = f::Entity::update_many()
        .col_expr(
            f::Column::Status,
            Expr::value(FanoutStatus::Failed.as_str()),
        )
        .col_expr(f::Column::FinishedAt, Expr::value(Some(now)));
    fenced(db, released(q, now), id, token).await
}
