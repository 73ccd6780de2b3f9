//! One error type for every handler. Each module's error maps to a status
//! and a stable snake_case code; 5xx bodies are opaque and details are logged.

use crate::auth::AuthError;
use crate::domain::DomainError;
use crate::feed::FeedError;
use crate::persistence::StoreError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable code, e.g. `invalid_json`, `not_found`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    /// Logs `detail` and answers an opaque 500.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "internal server error",
        )
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status).json(ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message.clone(),
            },
        })
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        Self::unprocessable(e.code(), e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("resource"),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            other => Self::internal(other),
        }
    }
}

impl From<FeedError> for ApiError {
    fn from(e: FeedError) -> Self {
        match e {
            FeedError::Store(s) => s.into(),
            FeedError::NotFound => Self::not_found("notification"),
            FeedError::NoSuchAction(_) => Self::not_found("action"),
            FeedError::Ingest(reason) => Self::internal(reason),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => s.into(),
            other => auth_error(&other),
        }
    }
}

/// Extractors fail with [`AuthError`]; this is where it becomes HTTP.
impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::Missing | AuthError::Invalid | AuthError::Expired => {
                StatusCode::UNAUTHORIZED
            }
            AuthError::Forbidden(_) => StatusCode::FORBIDDEN,
            AuthError::Unconfigured | AuthError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        auth_error(self).error_response()
    }
}

fn auth_error(e: &AuthError) -> ApiError {
    match e {
        AuthError::Missing => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing credentials: send 'Authorization: Bearer <token>'",
        ),
        AuthError::Invalid => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "invalid credentials",
        ),
        AuthError::Expired => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the token has expired",
        ),
        AuthError::Forbidden(scope) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this API key lacks the '{scope}' scope"),
        ),
        // Opaque: the detail is logged by `internal`, never sent.
        AuthError::Unconfigured | AuthError::Store(_) => ApiError::internal(e),
    }
}
