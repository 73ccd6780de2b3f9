//! Chat destinations, per user and per rule. Erasing a user or deleting a
//! rule removes its destinations (see `users::delete` and the rules routes).

use super::{StoreError, StoreResult};
use crate::domain::{Channel, ChatDestination, ChatTarget, UserId};
use chrono::{DateTime, Utc};
use entity::chat_destinations as c;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// Whose destination it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    User(UserId),
    Rule(uuid::Uuid),
}

impl Owner {
    fn kind(&self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Rule(_) => "rule",
        }
    }

    fn id(&self) -> String {
        match self {
            Self::User(u) => u.as_str().to_string(),
            Self::Rule(r) => r.to_string(),
        }
    }
}

/// One stored destination.
#[derive(Clone, Debug)]
pub struct Stored {
    pub service: Channel,
    pub destination: ChatDestination,
    pub updated_at: DateTime<Utc>,
}

fn parse(m: c::Model) -> StoreResult<Stored> {
    let corrupt = |e: crate::domain::DomainError| {
        StoreError::Corrupt(format!("chat destination {}: {e}", m.id))
    };
    let service = Channel::parse(&m.service).map_err(corrupt)?;
    let kind = ChatTarget::parse(&m.kind).map_err(corrupt)?;
    // The scheme was checked when it was saved; the provider checks it again when sending.
    let destination = ChatDestination::parse(service, kind, &m.target, true).map_err(corrupt)?;
    Ok(Stored {
        service,
        destination,
        updated_at: m.updated_at,
    })
}

fn of(owner: &Owner) -> sea_orm::Select<c::Entity> {
    c::Entity::find()
        .filter(c::Column::OwnerKind.eq(owner.kind()))
        .filter(c::Column::OwnerId.eq(owner.id()))
}

/// Sets (or replaces) the owner's destination for a service.
pub async fn put(
    db: &impl ConnectionTrait,
    owner: &Owner,
    service: Channel,
    destination: &ChatDestination,
) -> StoreResult<Stored> {
    let now = Utc::now();
    let row = c::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        owner_kind: Set(owner.kind().into()),
        owner_id: Set(owner.id()),
        service: Set(service.as_str().into()),
        kind: Set(destination.kind().as_str().into()),
        target: Set(destination.target().into()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    c::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([c::Column::OwnerKind, c::Column::OwnerId, c::Column::Service])
                .update_columns([c::Column::Kind, c::Column::Target, c::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    get(db, owner, service).await?.ok_or(StoreError::NotFound)
}

pub async fn get(
    db: &impl ConnectionTrait,
    owner: &Owner,
    service: Channel,
) -> StoreResult<Option<Stored>> {
    of(owner)
        .filter(c::Column::Service.eq(service.as_str()))
        .one(db)
        .await?
        .map(parse)
        .transpose()
}

pub async fn list(db: &impl ConnectionTrait, owner: &Owner) -> StoreResult<Vec<Stored>> {
    of(owner)
        .order_by_asc(c::Column::Service)
        .all(db)
        .await?
        .into_iter()
        .map(parse)
        .collect()
}

/// The services the owner has a destination for.
pub async fn services(db: &impl ConnectionTrait, owner: &Owner) -> StoreResult<Vec<Channel>> {
    Ok(list(db, owner)
        .await?
        .into_iter()
        .map(|s| s.service)
        .collect())
}

pub async fn delete(
    db: &impl ConnectionTrait,
    owner: &Owner,
    service: Channel,
) -> StoreResult<bool> {
    let gone = c::Entity::delete_many()
        .filter(c::Column::OwnerKind.eq(owner.kind()))
        .filter(c::Column::OwnerId.eq(owner.id()))
        .filter(c::Column::Service.eq(service.as_str()))
        .exec(db)
        .await?;
    Ok(gone.rows_affected > 0)
}

/// Every destination of the owner (a user erased, a rule deleted).
pub async fn delete_all(db: &impl ConnectionTrait, owner: &Owner) -> StoreResult<u64> {
    let gone = c::Entity::delete_many()
        .filter(c::Column::OwnerKind.eq(owner.kind()))
        .filter(c::Column::OwnerId.eq(owner.id()))
        .exec(db)
        .await?;
    Ok(gone.rows_affected)
}

/// Where a delivery goes: the rule's own destination when it has one, else the user's.
pub async fn resolve(
    db: &impl ConnectionTrait,
    user: Option<&UserId>,
    rule: Option<uuid::Uuid>,
    service: Channel,
) -> StoreResult<Option<ChatDestination>> {
    if let Some(rule) = rule {
        if let Some(s) = get(db, &Owner::Rule(rule), service).await? {
            return Ok(Some(s.destination));
        }
    }
    match user {
        Some(u) => Ok(get(db, &Owner::User(u.clone()), service)
            .await?
            .map(|s| s.destination)),
        None => Ok(None),
    }
}
