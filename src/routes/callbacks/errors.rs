//! How callback refusals reach the provider: a status and a stable code each.
//! Failures reaching AWS are logged and answered with an opaque 502.

use super::super::ApiError;
use crate::channels::callbacks::{CallbackError, WindowError};
use crate::channels::sns::SnsError;
use actix_web::http::StatusCode;

impl From<WindowError> for ApiError {
    fn from(e: WindowError) -> Self {
        let code = match e {
            WindowError::Malformed => "invalid_timestamp",
            WindowError::Outside { .. } => "stale_timestamp",
        };
        ApiError::new(StatusCode::UNAUTHORIZED, code, e.to_string())
    }
}

impl From<CallbackError> for ApiError {
    fn from(e: CallbackError) -> Self {
        match e {
            CallbackError::InvalidSignature => {
                ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", e.to_string())
            }
            CallbackError::Window(w) => w.into(),
            CallbackError::Replayed => {
                ApiError::new(StatusCode::CONFLICT, "replayed_callback", e.to_string())
            }
            CallbackError::Sns(s) => s.into(),
            CallbackError::Setting { .. } => ApiError::internal(e),
        }
    }
}

impl From<SnsError> for ApiError {
    fn from(e: SnsError) -> Self {
        let (status, code) = match &e {
            SnsError::NoTopics => (StatusCode::FORBIDDEN, "sns_not_configured"),
            SnsError::TopicNotAllowed => (StatusCode::FORBIDDEN, "topic_not_allowed"),
            SnsError::InvalidTopicArn | SnsError::Malformed(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
            }
            SnsError::Window(w) => return w.clone().into(),
            SnsError::UntrustedCertUrl(_) => {
                (StatusCode::UNAUTHORIZED, "untrusted_certificate_url")
            }
            SnsError::UntrustedSubscribeUrl(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "untrusted_subscribe_url")
            }
            SnsError::InvalidSignature => (StatusCode::UNAUTHORIZED, "invalid_signature"),
            SnsError::CertificateUnavailable(_) | SnsError::ConfirmationFailed(_) => {
                tracing::warn!(error = %e, "SNS upstream failure");
                return ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    "upstream_unavailable",
                    "AWS SNS could not be reached",
                );
            }
            SnsError::FetchBudgetSpent => {
                tracing::warn!(error = %e, "SNS certificate fetches throttled");
                return ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "try again later",
                );
            }
            SnsError::Setting { .. } => return ApiError::internal(e),
        };
        ApiError::new(status, code, e.to_string())
    }
}
