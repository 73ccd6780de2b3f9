//! Versioned templates: every update adds a version; notifications record
//! the code and version that rendered them.

mod parts;

pub use parts::{TemplateParts, PART_NAMES};

use super::{catalog_version, parse_json, StoreError, StoreResult};
use chrono::{DateTime, Utc};
use entity::{template_versions as v, templates as t};
use sea_orm::sea_query::Expr;
use sea_orm::ExprTrait;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

/// A template version ready to render.
#[derive(Clone, Debug)]
pub struct LoadedTemplate {
    pub code: String,
    pub locale: String,
    pub version: i32,
    pub parts: TemplateParts,
}

/// One locale of a template at its current version.
#[derive(Clone, Debug)]
pub struct TemplateRow {
    pub code: String,
    pub locale: String,
    pub version: i32,
    pub description: Option<String>,
    pub parts: TemplateParts,
    pub updated_at: DateTime<Utc>,
}

fn parts_of(text: &str) -> StoreResult<TemplateParts> {
    TemplateParts::parse(&parse_json("parts", text)?)
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Saves a new version of (code, locale), creating the template when needed; returns the version.
/// With `must_be_new`, an existing (code, locale) is a conflict.
pub async fn save(
    db: &impl TransactionTrait,
    code: &str,
    locale: &str,
    description: Option<String>,
    parts: &TemplateParts,
    must_be_new: bool,
) -> StoreResult<i32> {
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let now = Utc::now();
    // Write first: a SQLite transaction that reads and then writes can fail to
    // upgrade its lock while another writer holds it; one that writes first waits.
    let mut bump = t::Entity::update_many()
        .col_expr(
            t::Column::CurrentVersion,
            Expr::col(t::Column::CurrentVersion).add(1),
        )
        .col_expr(t::Column::UpdatedAt, Expr::value(now))
        .filter(t::Column::Code.eq(code))
        .filter(t::Column::Locale.eq(locale));
    if let Some(d) = &description {
        bump = bump.col_expr(t::Column::Description, Expr::value(d.clone()));
    }
    let bumped = bump.exec(&txn).await?.rows_affected > 0;
    let (template_id, version) = if bumped {
        if must_be_new {
            return Err(StoreError::Conflict(format!(
                "template '{code}' ({locale}) exists"
            )));
        }
        let row = t::Entity::find()
            .filter(t::Column::Code.eq(code))
            .filter(t::Column::Locale.eq(locale))
            .one(&txn)
            .await?
            .ok_or(StoreError::NotFound)?;
        (row.id, row.current_version)
    } else {
        let id = Uuid::now_v7();
        t::ActiveModel {
            id: Set(id),
            code: Set(code.to_string()),
            locale: Set(locale.to_string()),
            current_version: Set(1),
            description: Set(description),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await?;
        (id, 1)
    };
    v::ActiveModel {
        id: Set(Uuid::now_v7()),
        template_id: Set(template_id),
        version: Set(version),
        parts: Set(parts.to_json().to_string()),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(version)
}

async fn current(db: &impl ConnectionTrait, rows: Vec<t::Model>) -> StoreResult<Vec<TemplateRow>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let ver = v::Entity::find()
            .filter(v::Column::TemplateId.eq(row.id))
            .filter(v::Column::Version.eq(row.current_version))
            .one(db)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "template {} lost version {}",
                    row.code, row.current_version
                ))
            })?;
        out.push(TemplateRow {
            code: row.code,
            locale: row.locale,
            version: row.current_version,
            description: row.description,
            parts: parts_of(&ver.parts)?,
            updated_at: row.updated_at,
        });
    }
    Ok(out)
}

pub async fn get(db: &impl ConnectionTrait, code: &str) -> StoreResult<Vec<TemplateRow>> {
    let rows = t::Entity::find()
        .filter(t::Column::Code.eq(code))
        .order_by_asc(t::Column::Locale)
        .all(db)
        .await?;
    current(db, rows).await
}

pub async fn list(db: &impl ConnectionTrait) -> StoreResult<Vec<TemplateRow>> {
    let rows = t::Entity::find()
        .order_by_asc(t::Column::Code)
        .order_by_asc(t::Column::Locale)
        .all(db)
        .await?;
    current(db, rows).await
}

/// Deletes every locale and version of `code`.
pub async fn delete(db: &impl TransactionTrait, code: &str) -> StoreResult<bool> {
    let txn = db.begin().await?;
    catalog_version::bump(&txn).await?;
    let ids: Vec<Uuid> = t::Entity::find()
        .filter(t::Column::Code.eq(code))
        .all(&txn)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if ids.is_empty() {
        return Ok(false);
    }
    v::Entity::delete_many()
        .filter(v::Column::TemplateId.is_in(ids.clone()))
        .exec(&txn)
        .await?;
    t::Entity::delete_many()
        .filter(t::Column::Id.is_in(ids))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(true)
}

/// Every version of `code`: (locale, version, parts, created_at), newest first.
pub async fn versions(
    db: &impl ConnectionTrait,
    code: &str,
) -> StoreResult<Vec<(String, i32, TemplateParts, DateTime<Utc>)>> {
    let templates = t::Entity::find()
        .filter(t::Column::Code.eq(code))
        .all(db)
        .await?;
    let mut out = vec![];
    for tpl in templates {
        let rows = v::Entity::find()
            .filter(v::Column::TemplateId.eq(tpl.id))
            .order_by_desc(v::Column::Version)
            .all(db)
            .await?;
        for r in rows {
            out.push((
                tpl.locale.clone(),
                r.version,
                parts_of(&r.parts)?,
                r.created_at,
            ));
        }
    }
    out.sort_by_key(|v| std::cmp::Reverse(v.3));
    Ok(out)
}

/// The current version of every template, for the render engine.
pub async fn load_current(db: &impl ConnectionTrait) -> StoreResult<Vec<LoadedTemplate>> {
    Ok(list(db)
        .await?
        .into_iter()
        .map(|r| LoadedTemplate {
            code: r.code,
            locale: r.locale,
            version: r.version,
            parts: r.parts,
        })
        .collect())
}
