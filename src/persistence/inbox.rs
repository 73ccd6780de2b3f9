//! Inbox state on stored notifications. Every status change — seen, read,
//! unread, archive, snooze — is one [`Transition`] applied here, so the rules
//! (reading implies seeing; a snooze is cleared, not deleted) live in one place.

use super::notifications::{active, owned_by, to_view};
use super::StoreResult;
use crate::domain::{NotificationView, UserId};
use chrono::{DateTime, Utc};
use entity::notifications as n;
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, UpdateMany,
};
use uuid::Uuid;

/// Most categories `categories` returns (tabs are a handful in practice).
pub const MAX_CATEGORIES: u64 = 100;

/// A change of one notification's inbox state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    Seen,
    /// Also marks it seen.
    Read,
    /// Leaves it seen.
    Unread,
    Archive,
    Unarchive,
    Snooze(DateTime<Utc>),
    Unsnooze,
}

type NoTime = Option<DateTime<Utc>>;

impl Transition {
    /// Adds this transition's assignments (and the guard that makes a repeat a no-op).
    fn on(self, upd: UpdateMany<n::Entity>, now: DateTime<Utc>) -> UpdateMany<n::Entity> {
        let first_seen = || Func::coalesce([Expr::col(n::Column::SeenAt), Expr::value(now)]).into();
        match self {
            Self::Seen => upd
                .col_expr(n::Column::SeenAt, Expr::value(now))
                .filter(n::Column::SeenAt.is_null()),
            Self::Read => upd
                .col_expr(n::Column::ReadAt, Expr::value(now))
                .col_expr(n::Column::SeenAt, first_seen())
                .filter(n::Column::ReadAt.is_null()),
            Self::Unread => upd.col_expr(n::Column::ReadAt, Expr::value(NoTime::None)),
            Self::Archive => upd
                .col_expr(n::Column::ArchivedAt, Expr::value(now))
                .filter(n::Column::ArchivedAt.is_null()),
            Self::Unarchive => upd.col_expr(n::Column::ArchivedAt, Expr::value(NoTime::None)),
            Self::Snooze(until) => upd.col_expr(n::Column::SnoozedUntil, Expr::value(until)),
            Self::Unsnooze => upd.col_expr(n::Column::SnoozedUntil, Expr::value(NoTime::None)),
        }
    }
}

/// Of `ids`, the ones that are this user's live notifications.
pub async fn owned_ids(
    db: &impl ConnectionTrait,
    user: &UserId,
    ids: &[Uuid],
) -> StoreResult<Vec<Uuid>> {
    if ids.is_empty() {
        return Ok(vec![]);
    }
    Ok(n::Entity::find()
        .select_only()
        .column(n::Column::Id)
        .filter(owned_by(user))
        .filter(n::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?)
}

/// Applies `t` to `ids` and returns the ones that were the user's (changed or already so).
pub async fn apply(
    db: &impl ConnectionTrait,
    user: &UserId,
    ids: &[Uuid],
    t: Transition,
) -> StoreResult<Vec<Uuid>> {
    let owned = owned_ids(db, user, ids).await?;
    if owned.is_empty() {
        return Ok(owned);
    }
    let upd = n::Entity::update_many()
        .filter(owned_by(user))
        .filter(n::Column::Id.is_in(owned.iter().copied()));
    t.on(upd, Utc::now()).exec(db).await?;
    Ok(owned)
}

/// Applies `t` to every active notification of the user; returns how many changed.
pub async fn apply_all(
    db: &impl ConnectionTrait,
    user: &UserId,
    t: Transition,
) -> StoreResult<u64> {
    let now = Utc::now();
    let upd = n::Entity::update_many().filter(active(user, now));
    Ok(t.on(upd, now).exec(db).await?.rows_affected)
}

/// Unread and unseen among the active items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub unread: u64,
    pub unseen: u64,
}

fn count(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// Both counts in one statement. Unseen items are always unread (reading implies
/// seeing), so only unread rows are read.
pub async fn counts(db: &impl ConnectionTrait, user: &UserId) -> StoreResult<Counts> {
    let row: Option<(Option<i64>, Option<i64>)> = n::Entity::find()
        .select_only()
        .column_as(Expr::from(Func::count(Expr::col(n::Column::Id))), "unread")
        .column_as(
            Expr::cust("SUM(CASE WHEN seen_at IS NULL THEN 1 ELSE 0 END)"),
            "unseen",
        )
        .filter(active(user, Utc::now()))
        .filter(n::Column::ReadAt.is_null())
        .into_tuple()
        .one(db)
        .await?;
    let (unread, unseen) = row.unwrap_or_default();
    Ok(Counts {
        unread: count(unread),
        unseen: count(unseen),
    })
}

/// One tab: a category among the active items, with its unread count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryCount {
    pub category: String,
    pub unread: u64,
}

/// The categories of the user's active items, by name, with unread counts.
pub async fn categories(
    db: &impl ConnectionTrait,
    user: &UserId,
) -> StoreResult<Vec<CategoryCount>> {
    let rows: Vec<(String, Option<i64>)> = n::Entity::find()
        .select_only()
        .column(n::Column::Category)
        .column_as(
            Expr::cust("SUM(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END)"),
            "unread",
        )
        .filter(active(user, Utc::now()))
        .group_by(n::Column::Category)
        .order_by_asc(n::Column::Category)
        .limit(MAX_CATEGORIES)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(category, unread)| CategoryCount {
            category,
            unread: count(unread),
        })
        .collect())
}

/// A snooze that ended: the notification as it now is, for its user.
#[derive(Clone, Debug)]
pub struct Woken {
    pub user: UserId,
    pub view: NotificationView,
}

/// Clears up to `limit` snoozes that ended by `now`, oldest first. Each row is
/// cleared by a conditional update, so when two nodes race only one wakes it.
/// Deleted items are cleared too (so they leave the index) but not returned.
pub async fn wake_due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<Woken>> {
    let due = n::Entity::find()
        .filter(n::Column::SnoozedUntil.lte(now))
        .order_by_asc(n::Column::SnoozedUntil)
        .limit(limit)
        .all(db)
        .await?;
    let mut woken = Vec::with_capacity(due.len());
    for mut row in due {
        let res = n::Entity::update_many()
            .col_expr(n::Column::SnoozedUntil, Expr::value(NoTime::None))
            .filter(n::Column::Id.eq(row.id))
            .filter(n::Column::SnoozedUntil.eq(row.snoozed_until))
            .exec(db)
            .await?;
        if res.rows_affected == 0 || row.deleted_at.is_some() {
            continue;
        }
        row.snoozed_until = None;
        match UserId::parse(row.user_id.clone()) {
            Ok(user) => woken.push(Woken {
                user,
                view: to_view(&row)?,
            }),
            Err(e) => tracing::warn!(error = %e, "a woken notification has an unreadable user id"),
        }
    }
    Ok(woken)
}

/// Records a click on one of the user's notifications: its in-app delivery
/// moves to `clicked` wherever the forward-only status order allows.
pub async fn mark_in_app_clicked(
    db: &impl ConnectionTrait,
    user: &UserId,
    id: Uuid,
) -> StoreResult<u64> {
    use crate::domain::{Channel, DeliveryStatus};
    use entity::deliveries as d;
    let from: Vec<&str> = DeliveryStatus::ALL
        .iter()
        .filter(|s| s.can_move_to(DeliveryStatus::Clicked))
        .map(|s| s.as_str())
        .collect();
    let res = d::Entity::update_many()
        .col_expr(
            d::Column::Status,
            Expr::value(DeliveryStatus::Clicked.as_str()),
        )
        .col_expr(d::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(d::Column::NotificationId.eq(id))
        .filter(d::Column::UserId.eq(user.as_str()))
        .filter(d::Column::Channel.eq(Channel::InApp.as_str()))
        .filter(d::Column::Status.is_in(from))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
