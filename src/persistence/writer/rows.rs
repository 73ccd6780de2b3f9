//! Row builders for the group-commit writer.

use super::{EventRecord, Guard, NewDelivery, RequestGuard, StoreError, StoreResult, Unit};
use crate::domain::{DeliveryContent, DeliveryStatus, NewNotification, NotificationView};
use crate::persistence::json_text;
use crate::persistence::notifications::list_text;
use crate::persistence::send_requests;
use chrono::{DateTime, Utc};
use entity::{notifications as n, users as u};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ConnectionTrait, ExprTrait};
use std::collections::{BTreeMap, HashMap};

pub fn view(
    new: &NewNotification,
    id: uuid::Uuid,
    seq: i64,
    now: DateTime<Utc>,
) -> NotificationView {
    NotificationView {
        id,
        seq,
        category: new.category.as_str().to_string(),
        title: new.title.clone(),
        body: new.body.clone(),
        action_url: new.action_url.as_ref().map(|a| a.as_str().to_string()),
        data: new.data.clone(),
        priority: new.priority,
        created_at: now,
        read_at: None,
        seen_at: None,
        archived_at: None,
        snoozed_until: None,
        tags: new.tags.iter().map(|t| t.as_str().to_string()).collect(),
        actions: new.actions.clone().into_vec(),
    }
}

pub fn notification(new: &NewNotification, v: &NotificationView) -> n::ActiveModel {
    n::ActiveModel {
        id: Set(v.id),
        user_id: Set(new.user_id.as_str().to_string()),
        seq: Set(v.seq),
        category: Set(v.category.clone()),
        title: Set(v.title.clone()),
        body: Set(v.body.clone()),
        action_url: Set(v.action_url.clone()),
        data: Set(json_text(&v.data)),
        priority: Set(v.priority.as_str().to_string()),
        request_id: Set(new.request_id.clone()),
        template_code: Set(new.template.as_ref().map(|t| t.0.clone())),
        template_version: Set(new.template.as_ref().map(|t| t.1)),
        read_at: Set(None),
        deleted_at: Set(None),
        created_at: Set(v.created_at),
        seen_at: Set(None),
        archived_at: Set(None),
        snoozed_until: Set(None),
        // NULL, not "[]", when empty: most notifications carry neither.
        tags: Set(list_text(&v.tags)),
        actions: Set(list_text(&v.actions)),
    }
}

pub fn delivery(
    d: &NewDelivery,
    unit: &Unit,
    notification_id: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> StoreResult<(uuid::Uuid, entity::deliveries::ActiveModel)> {
    let id = uuid::Uuid::now_v7();
    let (event_id, request_id) = match &unit.guard {
        Some(Guard::Event(e)) => (Some(e.event_id.clone()), None),
        Some(Guard::Request(r)) => (None, Some(r.request_id.clone())),
        None => (None, None),
    };
    // In-app is handed to the bus right after commit; the rest wait for their channel.
    let status = match d.content {
        DeliveryContent::InApp => DeliveryStatus::Sent,
        _ => DeliveryStatus::Pending,
    };
    let endpoint = match &d.content {
        DeliveryContent::Webhook(w) => Some(w.endpoint),
        _ => None,
    };
    let content = serde_json::to_string(&d.content)
        .map_err(|e| StoreError::Corrupt(format!("delivery content: {e}")))?;
    let am = entity::deliveries::ActiveModel {
        id: Set(id),
        event_id: Set(event_id),
        notification_id: Set(notification_id),
        rule_id: Set(d.rule_id),
        user_id: Set(d.user.as_ref().map(|u| u.as_str().to_string())),
        channel: Set(d.content.channel().as_str().to_string()),
        status: Set(status.as_str().to_string()),
        content: Set(content),
        template_code: Set(d.template.as_ref().map(|t| t.0.clone())),
        template_version: Set(d.template.as_ref().map(|t| t.1)),
        attempts: Set(0),
        next_attempt_at: Set(d.not_before),
        last_error: Set(None),
        provider_message_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        lease_token: Set(None),
        category: Set(d.category.as_str().to_string()),
        priority: Set(d.priority.as_str().to_string()),
        endpoint_id: Set(endpoint),
        request_id: Set(request_id),
        traceparent: Set(unit.trace.as_ref().map(|t| t.parent().header())),
    };
    Ok((id, am))
}

/// The processed-event row that guards an event's unit.
pub fn event(ev: &EventRecord, unit: &Unit, now: DateTime<Utc>) -> entity::events::ActiveModel {
    entity::events::ActiveModel {
        event_id: Set(ev.event_id.clone()),
        event_type: Set(ev.event_type.clone()),
        source: Set(ev.source.clone()),
        status: Set(ev.status.clone()),
        outcome: Set(ev.outcome.to_string()),
        created_at: Set(now),
        trace_id: Set(unit.trace.as_ref().map(|t| t.trace_id().to_string())),
        traceparent: Set(unit.trace.as_ref().map(|t| t.parent().header())),
    }
}

/// The `/send` guard row, pointing at the unit's notification when it has one.
pub fn request(
    r: &RequestGuard,
    notification_id: Option<uuid::Uuid>,
    now: DateTime<Utc>,
) -> StoreResult<entity::send_requests::ActiveModel> {
    Ok(entity::send_requests::ActiveModel {
        user_id: Set(r.user.as_str().to_string()),
        request_id: Set(r.request_id.clone()),
        notification_id: Set(notification_id),
        outcomes: Set(send_requests::outcomes_text(&r.outcomes)?),
        created_at: Set(now),
    })
}

/// Creates missing users and bumps every user's counter by its count, in one
/// statement: `INSERT … ON CONFLICT (id) DO UPDATE SET last_seq = last_seq + excluded.last_seq
/// RETURNING id, last_seq`. A count of 0 only makes sure the user exists. Rows
/// are sorted by id, so concurrent batches lock users in the same order.
/// Returns user -> new last_seq.
pub async fn bump_seqs(
    db: &impl ConnectionTrait,
    counts: &BTreeMap<&str, i64>,
) -> StoreResult<HashMap<String, i64>> {
    let now = Utc::now();
    let mut insert = Query::insert();
    insert.into_table(u::Entity).columns([
        u::Column::Id,
        u::Column::Data,
        u::Column::LastSeq,
        u::Column::CreatedAt,
        u::Column::UpdatedAt,
    ]);
    for (user, k) in counts {
        insert
            .values([
                (*user).into(),
                "{}".into(),
                (*k).into(),
                now.into(),
                now.into(),
            ])
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    }
    let excluded = Expr::col((Alias::new("excluded"), u::Column::LastSeq));
    insert
        .on_conflict(
            OnConflict::column(u::Column::Id)
                .value(
                    u::Column::LastSeq,
                    Expr::col((u::Entity, u::Column::LastSeq)).add(excluded),
                )
                .to_owned(),
        )
        .returning(Query::returning().columns([u::Column::Id, u::Column::LastSeq]));
    let mut out = HashMap::with_capacity(counts.len());
    for row in db.query_all(&insert).await? {
        out.insert(
            row.try_get::<String>("", "id")?,
            row.try_get::<i64>("", "last_seq")?,
        );
    }
    Ok(out)
}
