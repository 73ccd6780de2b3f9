//! Service endpoints for users: profile, token minting.

use super::endpoint::Endpoint;
use super::{path_user, ApiError, AppState};
use crate::auth::{Admin, Authenticator};
use crate::domain::{Email, Locale, PhoneNumber, TimeZone};
use crate::persistence::users::{self, Profile};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        Endpoint::new("/users/{user_id}")
            .put(upsert)
            .get(get)
            .delete(delete),
    )
    .service(Endpoint::new("/users/{user_id}/token").post(mint_token));
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub email: Option<String>,
    /// E.164, e.g. `+14155550123`.
    pub phone: Option<String>,
    /// BCP 47, e.g. `en`, `fr-CA`.
    pub locale: Option<String>,
    /// IANA zone, e.g. `Europe/Paris`.
    pub timezone: Option<String>,
    #[schema(max_length = 256)]
    pub name: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub data: Option<serde_json::Value>,
}

impl TryFrom<UserInput> for Profile {
    type Error = ApiError;
    fn try_from(u: UserInput) -> Result<Self, ApiError> {
        let data = u.data.unwrap_or_else(|| serde_json::json!({}));
        if !data.is_object() {
            return Err(ApiError::unprocessable(
                "invalid_field",
                "data must be a JSON object",
            ));
        }
        let name = u
            .name
            .map(|n| crate::domain::bounded_text("name", n, 256))
            .transpose()?;
        Ok(Profile {
            email: u
                .email
                .as_deref()
                .map(Email::parse)
                .transpose()?
                .map(|e| e.as_str().to_string()),
            phone: u
                .phone
                .as_deref()
                .map(PhoneNumber::parse)
                .transpose()?
                .map(|p| p.as_str().to_string()),
            locale: u
                .locale
                .as_deref()
                .map(Locale::parse)
                .transpose()?
                .map(|l| l.as_str().to_string()),
            timezone: u
                .timezone
                .as_deref()
                .map(TimeZone::parse)
                .transpose()?
                .map(|t| t.as_str().to_string()),
            name,
            data,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub name: Option<String>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<entity::users::Model> for UserView {
    fn from(m: entity::users::Model) -> Self {
        Self {
            data: serde_json::from_str(&m.data).unwrap_or_else(|_| serde_json::json!({})),
            id: m.id,
            email: m.email,
            phone: m.phone,
            locale: m.locale,
            timezone: m.timezone,
            name: m.name,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Create or replace a user's profile.
#[utoipa::path(put, path = "/api/v1/users/{user_id}", tag = "users", request_body = UserInput,
    params(("user_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, body = UserView), (status = 422, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn upsert(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
    body: super::Body<UserInput>,
) -> Result<HttpResponse, ApiError> {
    let user = path_user(&path)?;
    let profile = Profile::try_from(body.into_inner())?;
    let row = users::upsert(&state.db, &user, profile).await?;
    Ok(HttpResponse::Ok().json(UserView::from(row)))
}

/// Read a user.
#[utoipa::path(get, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = UserView), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn get(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let user = path_user(&path)?;
    let row = users::get(&state.db, &user)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(HttpResponse::Ok().json(UserView::from(row)))
}

/// Erase a user and all their notifications, devices and preferences.
#[utoipa::path(delete, path = "/api/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path)),
    security(("api_key" = [])), responses((status = 204), (status = 404, body = super::ErrorBody)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn delete(
    _: Admin,
    state: web::Data<AppState>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let user = path_user(&path)?;
    if users::delete(&state.db, &user).await? {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::not_found("user"))
    }
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Mint a user token (HS256 JWT, `sub` = user id) for browsers and apps.
#[utoipa::path(post, path = "/api/v1/users/{user_id}/token", tag = "users", params(("user_id" = String, Path)),
    security(("api_key" = [])), responses((status = 200, body = TokenView)))]
#[tracing::instrument(skip_all, fields(user_id = %path))]
pub async fn mint_token(
    _: Admin,
    state: web::Data<AppState>,
    auth: web::Data<Authenticator>,
    path: web::Path<super::Segment>,
) -> Result<HttpResponse, ApiError> {
    let user = path_user(&path)?;
    let (token, expires_at) = auth
        .jwt()
        .mint(&user, state.jwt_ttl_secs)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok().json(TokenView { token, expires_at }))
}
