//! Template management (admin) and render previews.

use super::bodies::templates::{
    RenderBody, RenderView, TemplateBody, TemplateList, TemplateLocales, TemplateVersions,
    TemplateView,
};
use super::endpoint::Endpoint;
use super::{ApiError, AppState};
use crate::auth::Admin;
use crate::packs::{template_code, upsert_template};
use crate::persistence::templates;
use actix_web::{web, HttpResponse};
use serde_json::{json, Value};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(Endpoint::new("/templates").post(create).get(list))
        .service(Endpoint::new("/templates/{code}/versions").get(versions))
        .service(Endpoint::new("/templates/{code}/render").post(render))
        .service(
            Endpoint::new("/templates/{code}")
                .get(get)
                .put(update)
                .delete(delete),
        );
}

fn row_json(r: &templates::TemplateRow) -> Value {
    json!({"code": r.code, "locale": r.locale, "version": r.version, "description": r.description,
           "parts": r.parts.to_json(), "updated_at": r.updated_at})
}

/// Create a template (version 1 of a code and locale). 409 if it exists; a syntax error is a 422 naming the part and line.
///
/// `in_app.data`, `push.data` and `webhook.body` are JSON: every `{{ value }}` in them is
/// JSON-encoded (`{"name": {{ user.name }}}`; `|tojson` is accepted too). A `{{ … }}` inside
/// a JSON string (`"{{ x }}"`) is refused with 422 `template_json_quoted_value`.
/// `in_app.data` must render to an object: it is the event notification's `data`.
/// `in_app.tags` renders to a list of tags and `in_app.actions` to a list of `{label, url}` or
/// `{label, event}` buttons, with the limits `/send` applies.
#[utoipa::path(post, path = "/api/v1/templates", tag = "templates", security(("api_key" = [])),
    request_body = TemplateBody,
    responses((status = 201, body = TemplateView), (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn create(
    _: Admin,
    state: web::Data<AppState>,
    body: super::Body<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    let input = body.to_input(None)?;
    if templates::get(&state.db, &input.code)
        .await?
        .iter()
        .any(|r| r.locale == input.locale)
    {
        return Err(ApiError::new(
            actix_web::http::StatusCode::CONFLICT,
            "conflict",
            format!(
                "template '{}' ({}) exists; PUT to add a version",
                input.code, input.locale
            ),
        ));
    }
    let (version, _) = upsert_template(&state.db, &input).await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Created().json(json!({"code": input.code, "locale": input.locale, "version": version, "parts": input.parts.to_json()})))
}

/// List templates (current versions).
#[utoipa::path(get, path = "/api/v1/templates", tag = "templates", security(("api_key" = [])), responses((status = 200, body = TemplateList)))]
#[tracing::instrument(skip_all)]
pub async fn list(_: Admin, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = templates::list(&state.db).await?;
    Ok(HttpResponse::Ok().json(json!({"items": rows.iter().map(row_json).collect::<Vec<_>>()})))
}

/// Read a template: every locale at its current version.
#[utoipa::path(get, path = "/api/v1/templates/{code}", tag = "templates", params(("code" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = TemplateLocales), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let code = template_code(&path)?;
    let rows = templates::get(&state.db, &code).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found("template"));
    }
    Ok(HttpResponse::Ok()
        .json(json!({"code": code, "locales": rows.iter().map(row_json).collect::<Vec<_>>()})))
}

/// Update a template: saves a new version for the body's locale.
#[utoipa::path(put, path = "/api/v1/templates/{code}", tag = "templates", params(("code" = String, Path)), security(("api_key" = [])),
    request_body = TemplateBody, responses((status = 200, body = TemplateView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn update(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<TemplateBody>,
) -> Result<HttpResponse, ApiError> {
    let code = template_code(&path)?;
    let input = body.to_input(Some(&code))?;
    crate::templates::check(&input.parts).map_err(|e| crate::packs::PackError::Template {
        code: code.clone(),
        source: e,
    })?;
    let version = templates::save(
        &state.db,
        &code,
        &input.locale,
        input.description.clone(),
        &input.parts,
        false,
    )
    .await?;
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::Ok().json(json!({"code": code, "locale": input.locale, "version": version, "parts": input.parts.to_json()})))
}

/// Delete a template, every locale and version.
#[utoipa::path(delete, path = "/api/v1/templates/{code}", tag = "templates", params(("code" = String, Path)), security(("api_key" = [])),
    responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    if !templates::delete(&state.db, &template_code(&path)?).await? {
        return Err(ApiError::not_found("template"));
    }
    state.pipeline.catalog().refresh().await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every version of a template, newest first.
#[utoipa::path(get, path = "/api/v1/templates/{code}/versions", tag = "templates", params(("code" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = TemplateVersions), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn versions(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let rows = templates::versions(&state.db, &template_code(&path)?).await?;
    if rows.is_empty() {
        return Err(ApiError::not_found("template"));
    }
    let items: Vec<Value> = rows.iter().map(|(l, v, p, at)| json!({"locale": l, "version": v, "parts": p.to_json(), "created_at": at})).collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

/// Preview a render. Body: `{variables, locale?, channel?}`, or the variables themselves.
/// A part that renders past `template_max_output_bytes` is a 422 `template_output_too_large`.
#[utoipa::path(post, path = "/api/v1/templates/{code}/render", tag = "templates", params(("code" = String, Path)), security(("api_key" = [])),
    request_body = RenderBody, responses((status = 200, body = RenderView), (status = 404, body = super::ErrorBody), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all)]
pub async fn render(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<RenderBody>,
) -> Result<HttpResponse, ApiError> {
    let code = template_code(&path)?;
    let engine = state.pipeline.templates();
    if !engine.exists(&code) {
        return Err(ApiError::not_found("template"));
    }
    let (vars, locale, only) = match body.into_inner() {
        RenderBody::Wrapped {
            variables,
            locale,
            channel,
        } => (variables, locale, channel),
        RenderBody::Bare(vars) => (Value::Object(vars.0), None, None),
    };
    let (locale, only) = (locale.as_deref(), only.as_deref());
    let mut channels = serde_json::Map::new();
    let mut first = None;
    for channel in crate::domain::Channel::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| only.is_none_or(|o| o == *c))
    {
        match engine.render(&code, locale, channel, &vars) {
            Ok(r) => {
                first.get_or_insert_with(|| {
                    r.parts
                        .get("body")
                        .or(r.parts.get("text"))
                        .or(r.parts.get("html"))
                        .cloned()
                        .unwrap_or_default()
                });
                channels.insert(
                    channel.into(),
                    json!({"version": r.version, "locale": r.locale, "parts": r.parts}),
                );
            }
            Err(crate::templates::TemplateError::MissingPart { .. }) => {}
            Err(e @ crate::templates::TemplateError::OutputTooLarge { .. }) => {
                return Err(ApiError::unprocessable(
                    "template_output_too_large",
                    e.to_string(),
                ))
            }
            Err(e) => {
                return Err(ApiError::unprocessable(
                    "template_render_failed",
                    e.to_string(),
                ))
            }
        }
    }
    Ok(HttpResponse::Ok()
        .json(json!({"code": code, "rendered": first.unwrap_or_default(), "channels": channels})))
}
