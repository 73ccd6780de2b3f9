//! PostgreSQL: a whole batch in ONE statement. Data-modifying CTEs bump the
//! users' seqs and insert the notifications, guards and deliveries from
//! arrays (`UNNEST`), so the statement text never changes (prepared once per
//! connection) and a batch costs one round trip instead of six (BEGIN, the
//! seq upsert, three INSERTs, COMMIT). A single statement is atomic, and the
//! foreign keys between its parts are checked at its end.
//!
//! Only for batches without digest folds, scheduled sends or topic fan-outs;
//! those take the general path in `batch`.

use super::{rows, Guard, StoreError, StoreResult, Unit, UnitResult};
use crate::domain::NotificationId;
use crate::persistence::notifications::Inserted;
use chrono::{DateTime, Utc};
use sea_orm::sqlx::{self, Row};
use sea_orm::{ActiveValue, DatabaseConnection, DbBackend};
use std::collections::HashMap;

const SQL: &str = r#"
WITH counts AS (
    SELECT * FROM UNNEST($1::text[], $2::int8[]) AS c(id, k)
), bumped AS (
    INSERT INTO users (id, data, last_seq, created_at, updated_at)
    SELECT id, '{}', k, $3::timestamptz, $3::timestamptz FROM counts ORDER BY id
    ON CONFLICT (id) DO UPDATE SET last_seq = users.last_seq + excluded.last_seq
    RETURNING id, last_seq
), n AS (
    INSERT INTO notifications (id, user_id, seq, category, title, body, action_url, data, priority,
        request_id, template_code, template_version, created_at, tags, actions)
    SELECT v.id, v.user_id, b.last_seq - c.k + v.ord, v.category, v.title, v.body, v.action_url, v.data,
        v.priority, v.request_id, v.template_code, v.template_version, $3::timestamptz, v.tags, v.actions
    FROM UNNEST($4::uuid[], $5::text[], $6::int8[], $7::text[], $8::text[], $9::text[], $10::text[],
        $11::text[], $12::text[], $13::text[], $14::text[], $15::int4[], $16::text[], $17::text[])
        AS v(id, user_id, ord, category, title, body, action_url, data, priority, request_id,
            template_code, template_version, tags, actions)
    JOIN bumped b ON b.id = v.user_id
    JOIN counts c ON c.id = v.user_id
), e AS (
    INSERT INTO events (event_id, event_type, source, status, outcome, created_at, trace_id, traceparent)
    SELECT event_id, event_type, source, status, outcome, $3::timestamptz, trace_id, traceparent
    FROM UNNEST($18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::text[])
        AS x(event_id, event_type, source, status, outcome, trace_id, traceparent)
), r AS (
    INSERT INTO send_requests (user_id, request_id, notification_id, outcomes, created_at)
    SELECT user_id, request_id, notification_id, outcomes, $3::timestamptz
    FROM UNNEST($25::text[], $26::text[], $27::uuid[], $28::text[])
        AS r(user_id, request_id, notification_id, outcomes)
), d AS (
    INSERT INTO deliveries (id, event_id, notification_id, rule_id, user_id, channel, status, content,
        template_code, template_version, attempts, next_attempt_at, created_at, updated_at, category,
        priority, endpoint_id, request_id, traceparent)
    SELECT id, event_id, notification_id, rule_id, user_id, channel, status, content, template_code,
        template_version, 0, next_attempt_at, $3::timestamptz, $3::timestamptz, category, priority,
        endpoint_id, request_id, traceparent
    FROM UNNEST($29::uuid[], $30::text[], $31::uuid[], $32::uuid[], $33::text[], $34::text[], $35::text[],
        $36::text[], $37::text[], $38::int4[], $39::timestamptz[], $40::text[], $41::text[], $42::uuid[],
        $43::text[], $44::text[])
        AS d(id, event_id, notification_id, rule_id, user_id, channel, status, content, template_code,
            template_version, next_attempt_at, category, priority, endpoint_id, request_id, traceparent)
)
SELECT id, last_seq FROM bumped
"#;

/// Whether this batch can be written by [`write`].
pub fn applies(db: &DatabaseConnection, units: &[&Unit]) -> bool {
    db.get_database_backend() == DbBackend::Postgres
        && units
            .iter()
            .all(|u| u.digests.is_empty() && u.scheduled.is_empty() && u.fanouts.is_empty())
}

/// The value a row builder set, moved out (every field read here is set).
fn val<T>(v: ActiveValue<T>) -> StoreResult<T>
where
    T: Into<sea_orm::Value>,
{
    match v {
        ActiveValue::Set(x) | ActiveValue::Unchanged(x) => Ok(x),
        ActiveValue::NotSet => Err(StoreError::Corrupt(
            "a row builder left a field unset".into(),
        )),
    }
}

/// One column of the statement's arrays per field.
#[derive(Default)]
struct Notifications {
    id: Vec<uuid::Uuid>,
    user: Vec<String>,
    ord: Vec<i64>,
    category: Vec<String>,
    title: Vec<String>,
    body: Vec<String>,
    action_url: Vec<Option<String>>,
    data: Vec<String>,
    priority: Vec<String>,
    request_id: Vec<Option<String>>,
    template_code: Vec<Option<String>>,
    template_version: Vec<Option<i32>>,
    tags: Vec<Option<String>>,
    actions: Vec<Option<String>>,
}

#[derive(Default)]
struct Events {
    id: Vec<String>,
    kind: Vec<String>,
    source: Vec<String>,
    status: Vec<String>,
    outcome: Vec<String>,
    trace_id: Vec<Option<String>>,
    traceparent: Vec<Option<String>>,
}

#[derive(Default)]
struct Requests {
    user: Vec<String>,
    request_id: Vec<String>,
    notification: Vec<Option<uuid::Uuid>>,
    outcomes: Vec<String>,
}

#[derive(Default)]
struct Deliveries {
    id: Vec<uuid::Uuid>,
    event_id: Vec<Option<String>>,
    notification: Vec<Option<uuid::Uuid>>,
    rule_id: Vec<Option<uuid::Uuid>>,
    user: Vec<Option<String>>,
    channel: Vec<String>,
    status: Vec<String>,
    content: Vec<String>,
    template_code: Vec<Option<String>>,
    template_version: Vec<Option<i32>>,
    next_attempt_at: Vec<DateTime<Utc>>,
    category: Vec<String>,
    priority: Vec<String>,
    endpoint: Vec<Option<uuid::Uuid>>,
    request_id: Vec<Option<String>>,
    traceparent: Vec<Option<String>>,
}

/// Writes units known not to be duplicates, as `batch::write_live` does, in one statement.
pub async fn write(db: &DatabaseConnection, units: &[&Unit]) -> StoreResult<Vec<UnitResult>> {
    let now = Utc::now();
    let counts = super::batch::seq_counts(units);
    // Notifications, numbered per user in arrival order (1-based), as their seqs will be.
    let mut ords: HashMap<&str, i64> = HashMap::with_capacity(counts.len());
    let mut n = Notifications::default();
    let mut pending: Vec<Vec<(Inserted, i64)>> = Vec::with_capacity(units.len());
    for u in units {
        let mut mine = Vec::with_capacity(u.notifications.len());
        for new in &u.notifications {
            let ord = ords.entry(new.user_id.as_str()).or_default();
            *ord += 1;
            let v = rows::view(new, NotificationId::new().as_uuid(), 0, now);
            let m = rows::notification(new, &v);
            n.id.push(v.id);
            n.user.push(val(m.user_id)?);
            n.ord.push(*ord);
            n.category.push(val(m.category)?);
            n.title.push(val(m.title)?);
            n.body.push(val(m.body)?);
            n.action_url.push(val(m.action_url)?);
            n.data.push(val(m.data)?);
            n.priority.push(val(m.priority)?);
            n.request_id.push(val(m.request_id)?);
            n.template_code.push(val(m.template_code)?);
            n.template_version.push(val(m.template_version)?);
            n.tags.push(val(m.tags)?);
            n.actions.push(val(m.actions)?);
            mine.push((
                Inserted {
                    view: v,
                    created: true,
                },
                *ord,
            ));
        }
        pending.push(mine);
    }
    let (mut e, mut r, mut d) = (
        Events::default(),
        Requests::default(),
        Deliveries::default(),
    );
    let mut delivery_ids = Vec::with_capacity(units.len());
    for (u, mine) in units.iter().zip(&pending) {
        match &u.guard {
            Some(Guard::Event(ev)) => {
                let m = rows::event(ev, u, now);
                e.id.push(val(m.event_id)?);
                e.kind.push(val(m.event_type)?);
                e.source.push(val(m.source)?);
                e.status.push(val(m.status)?);
                e.outcome.push(val(m.outcome)?);
                e.trace_id.push(val(m.trace_id)?);
                e.traceparent.push(val(m.traceparent)?);
            }
            Some(Guard::Request(g)) => {
                let m = rows::request(g, mine.first().map(|(i, _)| i.view.id), now)?;
                r.user.push(val(m.user_id)?);
                r.request_id.push(val(m.request_id)?);
                r.notification.push(val(m.notification_id)?);
                r.outcomes.push(val(m.outcomes)?);
            }
            None => {}
        }
        let mut ids = Vec::with_capacity(u.deliveries.len());
        for nd in &u.deliveries {
            let linked = nd
                .notification
                .and_then(|j| mine.get(j))
                .map(|(i, _)| i.view.id);
            let (id, m) = rows::delivery(nd, u, linked, now)?;
            ids.push(id);
            d.id.push(id);
            d.event_id.push(val(m.event_id)?);
            d.notification.push(linked);
            d.rule_id.push(val(m.rule_id)?);
            d.user.push(val(m.user_id)?);
            d.channel.push(val(m.channel)?);
            d.status.push(val(m.status)?);
            d.content.push(val(m.content)?);
            d.template_code.push(val(m.template_code)?);
            d.template_version.push(val(m.template_version)?);
            d.next_attempt_at.push(val(m.next_attempt_at)?);
            d.category.push(val(m.category)?);
            d.priority.push(val(m.priority)?);
            d.endpoint.push(val(m.endpoint_id)?);
            d.request_id.push(val(m.request_id)?);
            d.traceparent.push(val(m.traceparent)?);
        }
        delivery_ids.push(ids);
    }
    let (users, ks): (Vec<String>, Vec<i64>) =
        counts.iter().map(|(u, k)| (u.to_string(), *k)).unzip();
    let lasts: HashMap<String, i64> = sqlx::query(SQL)
        .bind(users)
        .bind(ks)
        .bind(now)
        .bind(n.id)
        .bind(n.user)
        .bind(n.ord)
        .bind(n.category)
        .bind(n.title)
        .bind(n.body)
        .bind(n.action_url)
        .bind(n.data)
        .bind(n.priority)
        .bind(n.request_id)
        .bind(n.template_code)
        .bind(n.template_version)
        .bind(n.tags)
        .bind(n.actions)
        .bind(e.id)
        .bind(e.kind)
        .bind(e.source)
        .bind(e.status)
        .bind(e.outcome)
        .bind(e.trace_id)
        .bind(e.traceparent)
        .bind(r.user)
        .bind(r.request_id)
        .bind(r.notification)
        .bind(r.outcomes)
        .bind(d.id)
        .bind(d.event_id)
        .bind(d.notification)
        .bind(d.rule_id)
        .bind(d.user)
        .bind(d.channel)
        .bind(d.status)
        .bind(d.content)
        .bind(d.template_code)
        .bind(d.template_version)
        .bind(d.next_attempt_at)
        .bind(d.category)
        .bind(d.priority)
        .bind(d.endpoint)
        .bind(d.request_id)
        .bind(d.traceparent)
        .fetch_all(db.get_postgres_connection_pool())
        .await
        .map_err(|e| {
            StoreError::Db(sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(
                e.into(),
            )))
        })?
        .iter()
        .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(|e| StoreError::Corrupt(format!("seq upsert answer: {e}")))?;
    // The seqs the statement gave: (last - count, last], in arrival order.
    let seq_of = |user: &str, ord: i64| -> StoreResult<i64> {
        let last = lasts
            .get(user)
            .ok_or_else(|| StoreError::Corrupt(format!("no seq for {user}")))?;
        Ok(last - counts.get(user).copied().unwrap_or_default() + ord)
    };
    let mut out = Vec::with_capacity(units.len());
    for ((u, mine), deliveries) in units.iter().zip(pending).zip(delivery_ids) {
        let mut notifications = Vec::with_capacity(mine.len());
        for ((mut inserted, ord), new) in mine.into_iter().zip(&u.notifications) {
            inserted.view.seq = seq_of(new.user_id.as_str(), ord)?;
            notifications.push(inserted);
        }
        out.push(UnitResult::Written {
            notifications,
            deliveries,
        });
    }
    Ok(out)
}
