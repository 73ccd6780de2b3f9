//! Preferences, for a user's own token and for services on a user's behalf.

use super::bodies::preferences::{PreferencesBody, PreferencesView};
use super::endpoint::Endpoint;
use super::{path_user, ApiError, AppState};
use crate::auth::{Admin, AuthedUser};
use crate::domain::{ChangeOrigin, PreferenceDocument, PreferencePatch, UserId};
use crate::persistence::preferences;
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/preferences")
            .get(my_get)
            .put(my_put)
            .patch(my_patch),
    )
    .service(
        Endpoint::new("/users/{user_id}/preferences")
            .get(svc_get)
            .put(svc_put)
            .patch(svc_patch),
    );
}

async fn read(state: &AppState, user: &UserId) -> Result<HttpResponse, ApiError> {
    let doc = preferences::get(&state.db, user).await?;
    Ok(HttpResponse::Ok().json(doc.to_json()))
}

/// PUT replaces the document, PATCH merges into what is stored; both in one
/// read-modify-write transaction, so concurrent changes never lose each
/// other's opt-outs and the history records exactly what each changed.
async fn write(
    state: &AppState,
    user: &UserId,
    body: &PreferencesBody,
    merge: bool,
    origin: ChangeOrigin,
) -> Result<HttpResponse, ApiError> {
    let patch = PreferencePatch::parse(&super::bodies::encoded(body)?)?;
    let doc = preferences::update(&state.db, user, &origin, |doc| {
        if !merge {
            *doc = PreferenceDocument::default();
        }
        doc.apply(patch.clone())
    })
    .await?;
    Ok(HttpResponse::Ok().json(doc.to_json()))
}

fn key_origin(admin: &Admin) -> ChangeOrigin {
    ChangeOrigin::ApiKey {
        name: admin.0.key_name.clone(),
    }
}

/// My preferences.
#[utoipa::path(get, path = "/api/v1/preferences", tag = "preferences", security(("user_token" = [])),
    responses((status = 200, description = "The preferences document", body = PreferencesView)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_get(
    user: AuthedUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    read(&state, &user.0).await
}

/// Replace my preferences.
#[utoipa::path(put, path = "/api/v1/preferences", tag = "preferences", security(("user_token" = [])),
    request_body(content = PreferencesBody, description = "{channels, categories, quiet_hours, digest} or the older flat form"),
    responses((status = 200, body = PreferencesView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_put(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<PreferencesBody>,
) -> Result<HttpResponse, ApiError> {
    write(&state, &user.0, &body, false, ChangeOrigin::User).await
}

/// Merge a partial document into my preferences.
#[utoipa::path(patch, path = "/api/v1/preferences", tag = "preferences", security(("user_token" = [])),
    request_body = PreferencesBody, responses((status = 200, body = PreferencesView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user = %user.0))]
pub async fn my_patch(
    user: AuthedUser,
    state: web::Data<AppState>,
    body: super::Body<PreferencesBody>,
) -> Result<HttpResponse, ApiError> {
    write(&state, &user.0, &body, true, ChangeOrigin::User).await
}

/// A user's preferences.
#[utoipa::path(get, path = "/api/v1/users/{user_id}/preferences", tag = "preferences", params(("user_id" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = PreferencesView)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn svc_get(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    read(&state, &path_user(&path)?).await
}

/// Replace a user's preferences.
#[utoipa::path(put, path = "/api/v1/users/{user_id}/preferences", tag = "preferences", params(("user_id" = String, Path)),
    security(("api_key" = [])), request_body = PreferencesBody, responses((status = 200, body = PreferencesView)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn svc_put(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<PreferencesBody>,
) -> Result<HttpResponse, ApiError> {
    write(&state, &path_user(&path)?, &body, false, key_origin(&admin)).await
}

/// Merge into a user's preferences.
#[utoipa::path(patch, path = "/api/v1/users/{user_id}/preferences", tag = "preferences", params(("user_id" = String, Path)),
    security(("api_key" = [])), request_body = PreferencesBody, responses((status = 200, body = PreferencesView)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn svc_patch(
    admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<PreferencesBody>,
) -> Result<HttpResponse, ApiError> {
    write(&state, &path_user(&path)?, &body, true, key_origin(&admin)).await
}
